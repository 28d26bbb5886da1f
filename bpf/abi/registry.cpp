// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "registry.h"

#include <cstring>

namespace dtabi {

std::string_view type_name(uint16_t t)
{
	return t < DT_TYPE_MAX ? detail::kTypes[t].name : "DT_UNKNOWN";
}

const HookInfo *hook_info(uint16_t h) { return h < DT_HOOK_MAX ? &detail::kHooks[h] : nullptr; }

std::string_view hook_name(uint16_t h)
{
	const HookInfo *i = hook_info(h);
	return i ? i->name : "unknown";
}

std::pair<std::string, std::string> hook_and_mechanism(const std::string &h)
{
	if (auto at = h.rfind('@'); at != std::string::npos)
		return {h.substr(0, at), h.substr(at + 1)};
	if (hook_from_name(h) < DT_HOOK_MAX)
		return {h, ""};
	auto colon = h.rfind(':');
	if (colon == std::string::npos)
		return {h, ""};
	return {h.substr(0, colon), h.substr(colon + 1)};
}

uint16_t hook_from_name(std::string_view n)
{
	for (const HookInfo &h : hooks())
		if (h.name == n)
			return h.id;
	return DT_HOOK_MAX;
}

const GroupInfo *group_by_name(std::string_view n)
{
	for (const GroupInfo &g : groups())
		if (g.name == n)
			return &g;
	return nullptr;
}

uint16_t group_id(const GroupInfo &g) { return uint16_t(&g - detail::kGroups); }

std::string_view group_fs(uint16_t group)
{
	std::string_view fs;
	bool first = true;
	for (const HookInfo &h : hooks()) {
		if (h.group != group)
			continue;
		if (first)
			fs = h.fs;
		else if (fs != h.fs)
			return "";
		first = false;
	}
	return fs;
}

std::string_view remove_op_name(uint16_t op)
{
	static constexpr std::string_view n[] = {
		"unknown", "truncate", "punch", "zero_range", "collapse", "insert",
		"swap_boot", "swapext", "pagecache",
	};
	return op < std::size(n) ? n[op] : "unknown";
}

std::string_view zero_op_name(uint16_t op)
{
	static constexpr std::string_view n[] = {
		"unknown", "blkdev", "ext4", "xfs", "dax_range", "alloc",
	};
	return op < std::size(n) ? n[op] : "unknown";
}

const char *class_letter(unsigned c)
{
	switch (c) {
	case DT_CLASS_Z: return "Z";
	case DT_CLASS_W: return "W";
	case DT_CLASS_L: return "L";
	case DT_CLASS_T: return "T";
	default: return "?";
	}
}

const char *class_title(unsigned c)
{
	switch (c) {
	case DT_CLASS_Z: return "block zeroing vs. concurrent faults";
	case DT_CLASS_W: return "writeback vs. pfn_mkwrite";
	case DT_CLASS_L: return "layout break vs. DMA-pinned pages";
	case DT_CLASS_T: return "fault vs. truncate";
	default: return "?";
	}
}

namespace {
// Length of the valid UTF-8 sequence at s[i], 0 if invalid (overlong
// forms, surrogates and code points past U+10FFFF are invalid too).
size_t utf8_len(std::string_view s, size_t i)
{
	auto b = [&](size_t k) { return uint8_t(s[i + k]); };
	auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
	uint8_t c = b(0);
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return cont(1) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (!cont(1) || !cont(2))
			return 0;
		if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (!cont(1) || !cont(2) || !cont(3))
			return 0;
		if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

template <typename Bad>
std::string clean(std::string_view s, bool escape_controls, Bad bad)
{
	std::string out;
	out.reserve(s.size());
	for (size_t i = 0; i < s.size();) {
		size_t n = utf8_len(s, i);
		uint8_t c = uint8_t(s[i]);
		if (n == 0 || (escape_controls && n == 1 && (c < 0x20 || c == 0x7f))) {
			bad(out, c);
			++i;
			continue;
		}
		// C1 controls (U+0080..U+009F) also drive terminals.
		if (escape_controls && n == 2 && c == 0xc2 && uint8_t(s[i + 1]) < 0xa0) {
			bad(out, c);
			bad(out, uint8_t(s[i + 1]));
			i += 2;
			continue;
		}
		out.append(s.substr(i, n));
		i += n;
	}
	return out;
}
} // namespace

std::string json_safe(std::string_view s)
{
	return clean(s, false, [](std::string &o, uint8_t) { o += "\xef\xbf\xbd"; });
}

std::string terminal_safe(std::string_view s)
{
	return clean(s, true, [](std::string &o, uint8_t c) {
		static const char hex[] = "0123456789abcdef";
		o += "\\x";
		o += hex[c >> 4];
		o += hex[c & 15];
	});
}

std::string comm_string(const dt_event &e)
{
	return json_safe(std::string_view(e.comm, strnlen(e.comm, DT_COMM_LEN)));
}

std::string dev_name(uint64_t dev)
{
	return std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
}

nlohmann::json event_json(const dt_event &e)
{
	nlohmann::json j{
		{"ts", e.ts},
		{"type", type_name(e.type)},
		{"hook", hook_name(e.hook)},
		{"cpu", e.cpu},
		{"pid", e.pid},
		{"tid", e.tid},
		{"comm", comm_string(e)},
		{"dev", e.dev},
		{"ino", e.ino},
		{"pgoff", e.pgoff},
		{"nr_pages", e.nr_pages},
		{"flags", e.flags},
	};
	switch (e.type) {
	case DT_ZERO:
		j["op"] = zero_op_name(e.op);
		j["sector"] = e.block;
		j["len"] = e.len;
		break;
	case DT_REMOVE_ENTER:
	case DT_REMOVE_EXIT:
		j["op"] = remove_op_name(e.op);
		break;
	case DT_IOMAP:
		j["sector"] = e.block;
		j["len"] = e.len;
		j["iomap_type"] = e.iomap_type;
		j["iomap_flags"] = e.iomap_flags;
		break;
	default:
		break;
	}
	if (e.refcount)
		j["refcount"] = e.refcount;
	if (e.type == DT_FAULT_EXIT || e.type == DT_MKWRITE_EXIT || e.type == DT_BREAK_EXIT ||
	    e.type == DT_LOST || e.ret)
		j["ret"] = e.ret;
	return j;
}

dt_event make_lost_event(uint64_t ts, uint16_t cpu, uint64_t count)
{
	dt_event e;
	memset(&e, 0, sizeof(e));
	e.ts = ts;
	e.type = DT_LOST;
	e.hook = DT_HOOK_USER;
	e.cpu = cpu;
	e.ret = int64_t(count);
	e.flags = DT_F_NOINODE;
	return e;
}

} // namespace dtabi
