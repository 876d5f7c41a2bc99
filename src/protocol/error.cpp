#include "steadyws/error.hpp"

#include <string>

namespace steadyws {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "steadyws"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<errc>(ev)));
  }
};
#pragma GCC diagnostic pop

}  // namespace

// One table: the wire spelling and the HTTP status of each code (CONTRACT §2, §3).
std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::bad_json:
      return "bad_json";
    case errc::bad_message:
      return "bad_message";
    case errc::too_large:
      return "too_large";
    case errc::rate_limited:
      return "rate_limited";
    case errc::unauthorized:
      return "unauthorized";
    case errc::internal:
      return "internal";
    case errc::forbidden:
      return "forbidden";
  }
  return "internal";
}

std::optional<errc> errc_from_string(std::string_view s) noexcept {
  for (const errc e : {errc::bad_json, errc::bad_message, errc::too_large, errc::rate_limited,
                       errc::unauthorized, errc::internal, errc::forbidden}) {
    if (to_string(e) == s) {
      return e;
    }
  }
  return std::nullopt;
}

unsigned http_status(errc e) noexcept {
  switch (e) {
    case errc::bad_json:
      return 400;
    case errc::bad_message:
      return 400;
    case errc::too_large:
      return 413;
    case errc::rate_limited:
      return 429;
    case errc::unauthorized:
      return 401;
    case errc::internal:
      return 500;
    case errc::forbidden:
      return 403;
  }
  return 500;
}

const boost::system::error_category& steadyws_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace steadyws
