#include "gateway/routing/params.h"

#include "common/utf8.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "gateway/routing/pct.h"

namespace obsgate::routing {
namespace {

Status fail(std::string_view reason) { return Status::invalid_argument(std::string(reason)); }

// Bytes the decoder must look at; runs of other bytes are copied in one append.
constexpr std::array<bool, 256> make_decode_special() {
  std::array<bool, 256> t{};
  t['+'] = t['%'] = t['\0'] = t[';'] = true;
  return t;
}

constexpr std::array<bool, 256> kDecodeSpecial = make_decode_special();

// Decodes one key or value ('+' and escapes) into out. Decoding never grows the input, so it
// writes through a pointer into a buffer sized once (append/push_back per run cost ~2x more).
Status decode_component(std::string_view in, std::string& out) {
  out.resize(in.size());
  char* w = out.data();
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (!kDecodeSpecial[static_cast<unsigned char>(c)]) {
      *w++ = c;
      ++i;
      continue;
    }
    if (c == '+') {
      *w++ = ' ';
      ++i;
      continue;
    }
    if (c == '\0') {
      return fail(reason::kParamsNul);
    }
    if (c == ';') {
      return fail(reason::kParamsSemicolon);
    }
    // c == '%'
    if (in.size() - i < 3) {
      return fail(reason::kParamsInvalidEscape);
    }
    const int hi = pct::hex_value(static_cast<unsigned char>(in[i + 1]));
    const int lo = pct::hex_value(static_cast<unsigned char>(in[i + 2]));
    if (hi < 0 || lo < 0) {
      return fail(reason::kParamsInvalidEscape);
    }
    if (hi == 0 && lo == 0) {
      return fail(reason::kParamsNul);
    }
    *w++ = static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  out.resize(static_cast<size_t>(w - out.data()));
  return Status();
}

constexpr std::array<bool, 256> make_unreserved() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] = pct::is_unreserved(static_cast<unsigned char>(c));
  }
  return t;
}

constexpr std::array<bool, 256> kUnreserved = make_unreserved();

// The length of `in` once escaped: unreserved bytes stay, every other byte becomes "%XX".
size_t encoded_size(std::string_view in) {
  size_t n = in.size();
  for (const char c : in) {
    n += kUnreserved[static_cast<unsigned char>(c)] ? 0 : 2;
  }
  return n;
}

// Writes the escaped form of `in` at `w` (encoded_size(in) bytes of room); returns the end.
// encode_params sizes its output once and writes through a pointer: push_back per byte, and
// the reallocation when an escape-heavy query outgrew the guessed size, cost ~3x as much.
char* encode_component(std::string_view in, char* w) {
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (kUnreserved[u]) {
      *w++ = c;
    } else {
      w[0] = '%';
      w[1] = pct::kUpperHex[u >> 4];
      w[2] = pct::kUpperHex[u & 0xF];
      w += 3;
    }
  }
  return w;
}

bool any_invalid_utf8(const std::vector<Params::Entry>& entries) {
  return std::any_of(entries.begin(), entries.end(), [](const Params::Entry& e) {
    return !is_valid_utf8(e.first) || !is_valid_utf8(e.second);
  });
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept { return ::obsgate::valid_utf8(s); }

Params::Params(std::vector<Entry> entries)
    : entries_(std::move(entries)), invalid_utf8_(any_invalid_utf8(entries_)) {}

void Params::add(std::string key, std::string value) {
  invalid_utf8_ = invalid_utf8_ || !is_valid_utf8(key) || !is_valid_utf8(value);
  entries_.emplace_back(std::move(key), std::move(value));
}

void Params::set(std::string_view key, std::string value) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.first == key; });
  if (it == entries_.end()) {
    add(std::string(key), std::move(value));
    return;
  }
  it->second = std::move(value);
  entries_.erase(std::remove_if(std::next(it), entries_.end(),
                                [&](const Entry& e) { return e.first == key; }),
                 entries_.end());
  invalid_utf8_ = any_invalid_utf8(entries_);
}

size_t Params::erase(std::string_view key) {
  const size_t before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.first == key; }),
                 entries_.end());
  invalid_utf8_ = any_invalid_utf8(entries_);
  return before - entries_.size();
}

std::vector<std::string_view> Params::get_all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& e : entries_) {
    if (e.first == key) {
      out.emplace_back(e.second);
    }
  }
  return out;
}

size_t Params::count(std::string_view key) const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                           [&](const Entry& e) { return e.first == key; }));
}

std::optional<std::string_view> Params::first(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.first == key) {
      return std::string_view(e.second);
    }
  }
  return std::nullopt;
}

Result<Params> parse_params(std::string_view in, size_t max_pairs) {
  std::vector<Params::Entry> entries;
  // Reserve once. Counting '&' with find (memchr) is several times faster than std::count's
  // byte loop, which showed up in perf.
  size_t pairs = 1;
  for (size_t a = in.find('&'); a != std::string_view::npos && pairs < max_pairs;
       a = in.find('&', a + 1)) {
    ++pairs;
  }
  entries.reserve(pairs);
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t amp = in.find('&', pos);
    if (amp == std::string_view::npos) {
      amp = in.size();
    }
    const std::string_view pair = in.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) {
      continue;
    }
    if (entries.size() == max_pairs) {
      return fail(reason::kParamsTooMany);
    }
    const size_t eq = pair.find('=');
    Params::Entry e;
    Status s = decode_component(pair.substr(0, eq), e.first);
    if (s.ok() && eq != std::string_view::npos) {
      s = decode_component(pair.substr(eq + 1), e.second);
    }
    if (!s.ok()) {
      return s;
    }
    entries.push_back(std::move(e));
  }
  return Params(std::move(entries));
}

std::string encode_params(const Params& params) {
  size_t size = params.empty() ? 0 : params.size() - 1;  // the "&"s
  for (const auto& e : params) {
    size += encoded_size(e.first) + 1 + encoded_size(e.second);
  }
  std::string out(size, '\0');
  char* w = out.data();
  bool first = true;
  for (const auto& e : params) {
    if (!first) {
      *w++ = '&';
    }
    first = false;
    w = encode_component(e.first, w);
    *w++ = '=';
    w = encode_component(e.second, w);
  }
  return out;
}

bool ParamPolicy::is_single_valued(std::string_view key) const {
  return std::find(single_valued.begin(), single_valued.end(), key) != single_valued.end();
}

Result<Params> merge_url_and_form(const Params& url, const Params& form,
                                  const ParamPolicy& policy) {
  for (const auto& key : policy.single_valued) {
    if (url.count(key) + form.count(key) > 1) {
      return Status::invalid_argument(std::string(reason::kParamsDuplicate) + "{" + key + "}");
    }
  }
  std::vector<Params::Entry> merged;
  merged.reserve(url.size() + form.size());
  merged.insert(merged.end(), form.begin(), form.end());
  merged.insert(merged.end(), url.begin(), url.end());
  return Params(std::move(merged));
}

}  // namespace obsgate::routing
