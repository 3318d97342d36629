// gzip decoding with an output cap: the decompression-bomb guard. zlib inflates into a buffer
// that grows in steps and never past the cap, so a small body cannot make us allocate more than
// Limits::max_decompressed_bytes (plus one step).
#include <zlib.h>

#include <algorithm>

#include "filters/loki_push/internal.h"

namespace obsgate::filters::loki_push::detail {
namespace {

constexpr size_t kStep = 64 * 1024;

class Inflater {
 public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    if (live_) {
      inflateEnd(&z_);
    }
  }
  bool init() {
    live_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;  // 16: gzip wrapper only
    return live_;
  }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool live_ = false;
};

}  // namespace

Result<std::string> gunzip(std::string_view in, size_t max_out) {
  Inflater inf;
  if (!inf.init()) {
    return Status::internal("loki_push: zlib init failed");
  }
  z_stream& z = inf.z();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());  // callers cap bodies far below 4 GiB
  std::string out;
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (produced >= max_out + 1) {
        return Status::resource_exhausted("loki_push: gzip body inflates past the limit of " +
                                          std::to_string(max_out) + " bytes");
      }
      // One byte past the cap tells "exactly max_out" from "more than max_out".
      out.resize(std::min(max_out + 1, produced + std::max(kStep, produced / 2)));
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (produced > max_out) {
      return Status::resource_exhausted("loki_push: gzip body inflates past the limit of " +
                                        std::to_string(max_out) + " bytes");
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) {
        break;
      }
      // Another member follows (Go's gzip reader reads concatenated members).
      if (inflateReset(&z) != Z_OK) {
        return Status::invalid_argument("loki_push: corrupt gzip body");
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      return Status::invalid_argument("loki_push: truncated gzip body");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::invalid_argument("loki_push: corrupt gzip body");
    }
  }
  out.resize(produced);
  return out;
}

}  // namespace obsgate::filters::loki_push::detail
