// On-disk layout of trace files (see analyzer/TRACE_FORMAT.md).  All
// integers little-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace daxtrace::detail {

inline constexpr char kFileMagic[8] = {'D', 'A', 'X', 'T', 'R', 'A', 'C', 'E'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint32_t kBlockMagic = 0x4b425444; // "DTBK"
inline constexpr uint32_t kEndMagic = 0x444e5444;   // "DTND"
inline constexpr uint32_t kMaxBlockEvents = 1u << 16;
inline constexpr uint32_t kMaxMetaLen = 1u << 20;

#pragma pack(push, 1)
struct FileHeader {
	char magic[8];
	uint16_t format_version;
	uint16_t flags;      // 0
	uint32_t abi_version;
	uint32_t event_size; // sizeof(struct dt_event)
	uint32_t meta_len;   // JSON metadata that follows
	uint32_t meta_crc;   // CRC32C of the metadata
	uint32_t hdr_crc;    // CRC32C of the 28 bytes above
};
struct BlockHeader {
	uint32_t magic;       // kBlockMagic, or kEndMagic for the end marker
	uint32_t index;       // 0, 1, 2 ... (end marker: number of blocks)
	uint32_t n_events;    // events in the block (end marker: 0)
	uint32_t comp_len;    // bytes of zstd frame that follow
	uint64_t first_ts;    // ts of the first event (end marker: total events)
	uint32_t payload_crc; // CRC32C of the zstd frame
	uint32_t hdr_crc;     // CRC32C of the 28 bytes above
};
#pragma pack(pop)
static_assert(sizeof(FileHeader) == 32);
static_assert(sizeof(BlockHeader) == 32);

uint32_t crc32c(const void *data, size_t n, uint32_t crc = 0);

} // namespace daxtrace::detail
