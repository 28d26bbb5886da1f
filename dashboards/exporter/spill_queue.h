// A directory of batches waiting for ClickHouse.  Every batch is written
// here first (write to a temporary name, then rename: a batch file is
// complete or absent), delivered in name order, and removed once the
// server has it.  Batches left by a run that could not deliver them are
// delivered by the next run that uses the same directory.  One process at
// a time delivers from a directory (flock on DIR/.lock).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dtch {

class SpillQueue {
public:
	// Creates dir (and parents); throws std::runtime_error if it cannot.
	explicit SpillQueue(std::string dir);
	~SpillQueue();
	SpillQueue(const SpillQueue &) = delete;
	SpillQueue &operator=(const SpillQueue &) = delete;

	// name: unique, sorts in delivery order, no '/'.  Throws on I/O errors.
	void put(const std::string &name, const std::string &content);
	std::vector<std::string> list() const;          // pending batch names, sorted
	uint64_t bytes() const;                         // size of the pending batches
	bool read(const std::string &name, std::string *content) const;
	void remove(const std::string &name);
	// Move aside a batch the server refuses (bad data): DIR/rejected/.
	void reject(const std::string &name);
	// Exclusive right to deliver from this directory (non-blocking).
	bool try_lock();
	bool locked() const { return lock_fd_ >= 0; }
	const std::string &dir() const { return dir_; }

private:
	std::string dir_;
	int lock_fd_ = -1;
};

}  // namespace dtch
