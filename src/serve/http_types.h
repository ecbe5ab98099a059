// What an HTTP handler sees and returns, independent of the HTTP library:
// HttpRequest (method, path, path parameters, query, headers, body, the
// authenticated principal) and HttpResponse (status, content type, body,
// extra headers), plus the JSON error body every failure uses:
//
//   {"error": {"code": "<stable_code>", "message": "<what went wrong>"}}
//
// The codes are part of the API (clients switch on them) and never change
// meaning; the table is in src/serve/README.md, the constants are kErr*
// below.
//
// Lifetime: every string_view and span in an HttpRequest points into the
// server's buffers for that request and is valid only during the handler
// call. Copy what must outlive it.

#ifndef EDDY_SERVE_HTTP_TYPES_H_
#define EDDY_SERVE_HTTP_TYPES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eddy/status.h"
#include "serve/auth.h"

namespace eddy {

enum class HttpMethod : uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

std::string_view HttpMethodName(HttpMethod m);
// "GET" -> kGet; anything unknown -> kOther. Case-sensitive, as RFC 9110 says.
HttpMethod ParseHttpMethod(std::string_view name);

// Stable error codes of the JSON error body.
inline constexpr std::string_view kErrBadRequest = "bad_request";            // 400 malformed HTTP
inline constexpr std::string_view kErrBadJson = "bad_json";                  // 400 body is not JSON
inline constexpr std::string_view kErrInvalidArgument = "invalid_argument";  // 400 wrong field
inline constexpr std::string_view kErrUnauthenticated = "unauthenticated";   // 401
inline constexpr std::string_view kErrForbidden = "forbidden";               // 403
inline constexpr std::string_view kErrNotFound = "not_found";                // 404
inline constexpr std::string_view kErrMethodNotAllowed = "method_not_allowed";  // 405
inline constexpr std::string_view kErrConflict = "conflict";                    // 409
inline constexpr std::string_view kErrPayloadTooLarge = "payload_too_large";    // 413
inline constexpr std::string_view kErrHeadersTooLarge = "headers_too_large";    // 431
inline constexpr std::string_view kErrTooManyRequests = "resource_exhausted";   // 429
inline constexpr std::string_view kErrInternal = "internal";                    // 500
inline constexpr std::string_view kErrUnimplemented = "unimplemented";          // 501
inline constexpr std::string_view kErrUnavailable = "unavailable";              // 503

struct HttpHeaderField {
  std::string_view name;
  std::string_view value;
};

struct PathParam {
  std::string_view name;  // as written in the route pattern
  std::string value;      // percent-decoded
};

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string_view method_name = "GET";
  std::string_view target;  // as received: path and query
  std::string_view path;    // before '?', not decoded
  std::string_view query;   // after '?', not decoded; empty when absent
  std::string_view route;   // the matched route pattern, e.g. "/v2/models/{name}/infer"
  std::span<const PathParam> params;
  std::span<const HttpHeaderField> headers;
  std::string_view body;
  // Who is calling: the token's principal, or Principal::Anonymous() on
  // routes without a role and when authentication is off. Never null.
  const Principal* principal = &Principal::Anonymous();

  // The decoded path parameter `name`, or "" when the route has none.
  std::string_view Param(std::string_view name) const;
  // The first header called `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
  // The first query parameter `name`, decoded ('+' is a space, %XX a byte),
  // or nullopt when absent or badly encoded.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  // Empty means "application/json".
  std::string content_type;
  std::string body;
  // Extra headers. Content-Type, Content-Length and Connection are the
  // server's and ignored here.
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(std::string body, int status = 200);
  static HttpResponse Text(std::string body, int status = 200);
  // {"error":{"code":code,"message":message}} with `status`.
  static HttpResponse Error(int status, std::string_view code, std::string_view message);
  // The error response for a failed Status (see StatusHttpCode).
  // REQUIRES: !s.ok().
  static HttpResponse FromStatus(const Status& s);
};

// The HTTP status and stable error code a Status maps to:
//   invalid_argument, out_of_range -> 400 invalid_argument
//   unauthenticated -> 401, permission_denied -> 403 forbidden,
//   not_found -> 404, already_exists, failed_precondition -> 409 conflict,
//   resource_exhausted -> 429, unimplemented -> 501, unavailable,
//   cancelled -> 503, anything else -> 500 internal.
std::pair<int, std::string_view> StatusHttpCode(StatusCode code);

// The JSON error body alone.
std::string ErrorJson(std::string_view code, std::string_view message);

// Percent-decodes `s` (with `plus_is_space` for query strings). Returns
// nullopt on a bad escape (a '%' not followed by two hex digits).
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Whether two ASCII strings are equal ignoring case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace eddy

#endif  // EDDY_SERVE_HTTP_TYPES_H_
