// Entry points: body caps, decompression (snappy for protobuf, optional gzip for either), the
// walk for the format, and re-compression of protobuf output.
#include <snappy.h>

#include <memory>

#include "filters/loki_push/internal.h"

namespace obsgate::filters::loki_push {
namespace {

Status too_big(std::string_view what, size_t size, size_t limit) {
  return Status::resource_exhausted("loki_push: " + std::string(what) + " of " +
                                    std::to_string(size) + " bytes exceeds the limit of " +
                                    std::to_string(limit));
}

}  // namespace

Result<Enforcer> Enforcer::create(PushPolicy policy) {
  auto impl = compile_policy(std::move(policy));
  if (!impl.ok()) {
    return impl.status();
  }
  return Enforcer(std::move(impl).value());
}

const PushPolicy& Enforcer::policy() const { return impl_->policy; }

Result<Outcome> Enforcer::enforce(std::string_view body, Format format,
                                  Encoding encoding) const {
  const Limits& lim = impl_->policy.limits;
  if (body.size() > lim.max_body_bytes) {
    return too_big("body", body.size(), lim.max_body_bytes);
  }
  std::string inflated;
  if (encoding == Encoding::kGzip) {
    auto g = detail::gunzip(body, lim.max_decompressed_bytes);
    if (!g.ok()) {
      return g.status();
    }
    inflated = std::move(g).value();
    body = inflated;
  }
  if (format == Format::kJson) {
    if (body.size() > lim.max_decompressed_bytes) {
      return too_big("JSON body", body.size(), lim.max_decompressed_bytes);
    }
    return detail::enforce_json(*impl_, body);
  }
  // The snappy header claims the uncompressed length: check it before allocating or
  // inflating, so that a tiny body cannot make us allocate a gigabyte.
  size_t claimed = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &claimed)) {
    return Status::invalid_argument("loki_push: protobuf body is not snappy block format");
  }
  if (claimed > lim.max_decompressed_bytes) {
    return too_big("uncompressed body", claimed, lim.max_decompressed_bytes);
  }
  // Buffers are allocated without zero-filling (std::string::resize would memset them; that
  // measured ~10 % of the whole request).
  auto raw = std::make_unique_for_overwrite<char[]>(claimed == 0 ? 1 : claimed);
  if (!snappy::RawUncompress(body.data(), body.size(), raw.get())) {
    return Status::invalid_argument("loki_push: corrupt snappy body");
  }
  inflated.clear();
  inflated.shrink_to_fit();
  auto res = detail::enforce_protobuf(*impl_, std::string_view(raw.get(), claimed));
  if (!res.ok() || res->rejected) {
    return res;
  }
  const std::string& plain = res->body;
  auto packed = std::make_unique_for_overwrite<char[]>(snappy::MaxCompressedLength(plain.size()));
  size_t packed_size = 0;
  snappy::RawCompress(plain.data(), plain.size(), packed.get(), &packed_size);
  res->body.assign(packed.get(), packed_size);
  return res;
}

Result<Outcome> enforce(std::string_view body, Format format, const PushPolicy& policy) {
  auto e = Enforcer::create(policy);
  if (!e.ok()) {
    return e.status();
  }
  return e->enforce(body, format);
}

}  // namespace obsgate::filters::loki_push
