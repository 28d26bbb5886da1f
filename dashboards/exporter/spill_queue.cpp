#include "spill_queue.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <stdexcept>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dtch {
namespace {

const char kSuffix[] = ".batch";

void mkdir_p(const std::string &dir)
{
	std::string cur;
	size_t pos = 0;
	while (pos != std::string::npos) {
		pos = dir.find('/', pos + 1);
		cur = dir.substr(0, pos);
		if (cur.empty())
			continue;
		if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
			throw std::runtime_error("cannot create " + cur + ": " + strerror(errno));
	}
	struct stat st;
	if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
		throw std::runtime_error(dir + " is not a directory");
	if (access(dir.c_str(), W_OK | X_OK) != 0)
		throw std::runtime_error(dir + ": " + strerror(errno));
}

bool ends_with(const std::string &s, const char *suf)
{
	size_t n = strlen(suf);
	return s.size() > n && s.compare(s.size() - n, n, suf) == 0;
}

}  // namespace

SpillQueue::SpillQueue(std::string dir) : dir_(std::move(dir))
{
	while (dir_.size() > 1 && dir_.back() == '/')
		dir_.pop_back();
	mkdir_p(dir_);
}

SpillQueue::~SpillQueue()
{
	if (lock_fd_ >= 0)
		close(lock_fd_);
}

void SpillQueue::put(const std::string &name, const std::string &content)
{
	std::string final_path = dir_ + "/" + name + kSuffix;
	std::string tmp = dir_ + "/.tmp-" + name;
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		throw std::runtime_error("spill " + tmp + ": " + strerror(errno));
	size_t off = 0;
	while (off < content.size()) {
		ssize_t n = write(fd, content.data() + off, content.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			close(fd);
			unlink(tmp.c_str());
			throw std::runtime_error("spill " + tmp + ": " + strerror(err));
		}
		off += size_t(n);
	}
	if (close(fd) != 0 || rename(tmp.c_str(), final_path.c_str()) != 0) {
		int err = errno;
		unlink(tmp.c_str());
		throw std::runtime_error("spill " + final_path + ": " + strerror(err));
	}
}

std::vector<std::string> SpillQueue::list() const
{
	std::vector<std::string> v;
	DIR *d = opendir(dir_.c_str());
	if (!d)
		return v;
	while (struct dirent *de = readdir(d)) {
		std::string n = de->d_name;
		if (n[0] != '.' && ends_with(n, kSuffix))
			v.push_back(n.substr(0, n.size() - strlen(kSuffix)));
	}
	closedir(d);
	std::sort(v.begin(), v.end());
	return v;
}

uint64_t SpillQueue::bytes() const
{
	uint64_t total = 0;
	struct stat st;
	for (auto &n : list())
		if (stat((dir_ + "/" + n + kSuffix).c_str(), &st) == 0)
			total += uint64_t(st.st_size);
	return total;
}

bool SpillQueue::read(const std::string &name, std::string *content) const
{
	std::string path = dir_ + "/" + name + kSuffix;
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	content->clear();
	char buf[65536];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return false;
		}
		if (n == 0)
			break;
		content->append(buf, size_t(n));
	}
	close(fd);
	return true;
}

void SpillQueue::remove(const std::string &name)
{
	unlink((dir_ + "/" + name + kSuffix).c_str());
}

void SpillQueue::reject(const std::string &name)
{
	std::string rej = dir_ + "/rejected";
	mkdir(rej.c_str(), 0700);
	rename((dir_ + "/" + name + kSuffix).c_str(), (rej + "/" + name + kSuffix).c_str());
}

bool SpillQueue::try_lock()
{
	if (lock_fd_ >= 0)
		return true;
	int fd = open((dir_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return false;
	}
	lock_fd_ = fd;
	return true;
}

}  // namespace dtch
