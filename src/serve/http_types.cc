#include "serve/http_types.h"

#include "base/json_writer.h"
#include "base/strings.h"
#include "base/utf8.h"

namespace eddy {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view HttpMethodName(HttpMethod m) {
  switch (m) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kPatch:
      return "PATCH";
    case HttpMethod::kOptions:
      return "OPTIONS";
    case HttpMethod::kOther:
      return "OTHER";
  }
  return "OTHER";
}

HttpMethod ParseHttpMethod(std::string_view name) {
  for (int i = 0; i < static_cast<int>(HttpMethod::kOther); ++i) {
    HttpMethod m = static_cast<HttpMethod>(i);
    if (HttpMethodName(m) == name) return m;
  }
  return HttpMethod::kOther;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view HttpRequest::Param(std::string_view name) const {
  for (const PathParam& p : params) {
    if (p.name == name) return p.value;
  }
  return {};
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const HttpHeaderField& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::optional<std::string> k = PercentDecode(key, true);
    if (!k || *k != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return PercentDecode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string ErrorJson(std::string_view code, std::string_view message) {
  // Messages may quote request bytes; JSON needs valid UTF-8.
  std::string safe_code, safe_message;
  if (!IsValidUtf8(code)) {
    safe_code = Quote(code, code.size() + 16);
    code = safe_code;
  }
  if (!IsValidUtf8(message)) {
    safe_message = Quote(message, message.size() + 16);
    message = safe_message;
  }
  std::string out;
  out.reserve(48 + code.size() + message.size());
  JsonWriter w(out);
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").String(code).Key("message").String(message);
  w.EndObject().EndObject();
  return out;
}

HttpResponse HttpResponse::Json(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Text(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view code, std::string_view message) {
  return Json(ErrorJson(code, message), status);
}

std::pair<int, std::string_view> StatusHttpCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return {400, kErrInvalidArgument};
    case StatusCode::kUnauthenticated:
      return {401, kErrUnauthenticated};
    case StatusCode::kPermissionDenied:
      return {403, kErrForbidden};
    case StatusCode::kNotFound:
      return {404, kErrNotFound};
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return {409, kErrConflict};
    case StatusCode::kResourceExhausted:
      return {429, kErrTooManyRequests};
    case StatusCode::kUnimplemented:
      return {501, kErrUnimplemented};
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
      return {503, kErrUnavailable};
    default:
      return {500, kErrInternal};
  }
}

HttpResponse HttpResponse::FromStatus(const Status& s) {
  auto [status, code] = StatusHttpCode(s.code());
  HttpResponse r = Error(status, code, s.message());
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace eddy
