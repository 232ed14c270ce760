#include "khe/kafka/wire.h"

namespace khe {
namespace {

constexpr std::string_view kErrorMagic = "KHE1";

}  // namespace

namespace wire {

Error malformed_error(std::string target, std::string_view what, std::size_t size,
                      const Malformed& m) {
  return Error{ErrorKind::kProtocol, std::move(target),
               std::string(what) + " (" + std::to_string(size) + " bytes, bad at byte " +
                   std::to_string(m.at) + ")"};
}

}  // namespace wire

std::string encode_error(const Error& error) {
  wire::Writer w;
  w.raw(kErrorMagic);
  w.error(error);
  return std::move(w).take();
}

std::optional<Error> decode_error_answer(std::string_view bytes, const std::string& worker) {
  if (bytes.substr(0, kErrorMagic.size()) != kErrorMagic) return std::nullopt;
  try {
    wire::Reader r(bytes);
    r.expect(kErrorMagic);
    Error e = r.error();
    if (!r.done()) throw wire::Malformed{r.pos()};
    return e;
  } catch (const wire::Malformed& m) {
    return wire::malformed_error(worker, "malformed error answer", bytes.size(), m);
  }
}

}  // namespace khe
