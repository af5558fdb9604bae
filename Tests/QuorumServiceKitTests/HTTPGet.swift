import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A response from ``httpGet(port:path:)``.
struct HTTPResult: Sendable {
    var status: Int
    var body: String
}

/// Failure of the test HTTP client.
struct HTTPGetError: Error, CustomStringConvertible {
    var description: String
}

/// A minimal HTTP/1.1 GET over a loopback TCP socket (no proxies, no URLSession), so the tests exercise the
/// real server. The blocking socket calls run on a Dispatch queue, not on the cooperative pool.
func httpGet(port: Int, path: String) async throws -> HTTPResult {
    try await httpRequest(port: port, path: path)
}

/// Any method, extra headers and a body; `until` stops reading once the response holds that text (for a stream that
/// does not end, e.g. server-sent events), else it reads until the server closes.
func httpRequest(port: Int, method: String = "GET", path: String, headers: [String: String] = [:], body: String = "",
                 until: String? = nil) async throws -> HTTPResult {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result {
                try blockingRequest(port: port, method: method, path: path, headers: headers, body: body, until: until)
            })
        }
    }
}

private func blockingRequest(port: Int, method: String, path: String, headers: [String: String], body requestBody: String,
                             until: String?) throws -> HTTPResult {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw HTTPGetError(description: "socket() failed: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw HTTPGetError(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)") }
    var requestHead = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { requestHead += "\(name): \(value)\r\n" }
    if !requestBody.isEmpty || method == "POST" { requestHead += "Content-Length: \(requestBody.utf8.count)\r\n" }
    let request = Array((requestHead + "\r\n" + requestBody).utf8)
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw HTTPGetError(description: "send failed: errno \(errno)") }
        sent += n
    }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { break }
        guard n > 0 else { throw HTTPGetError(description: "recv failed: errno \(errno)") }
        response.append(contentsOf: buffer[0..<n])
        if let until, String(decoding: response, as: UTF8.self).contains(until) { break }
    }
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let headerEnd = (0...(max(0, response.count - 4))).first(where: { Array(response[$0..<min($0 + 4, response.count)]) == separator })
    else { throw HTTPGetError(description: "no end of headers in the response") }
    let head = String(decoding: response[..<headerEnd], as: UTF8.self)
    let statusParts = (head.split(separator: "\r\n").first ?? "").split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw HTTPGetError(description: "bad status line in \(head)")
    }
    var body = Array(response[(headerEnd + 4)...])
    if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
    return HTTPResult(status: status, body: String(decoding: body, as: UTF8.self))
}

/// Decodes a chunked body: hex size CRLF, bytes CRLF, …, 0 CRLF CRLF.
private func dechunk(_ body: [UInt8]) -> [UInt8] {
    var result: [UInt8] = []
    var index = 0
    while index < body.count {
        guard let lineEnd = (index..<(body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
              let size = Int(String(decoding: body[index..<lineEnd], as: UTF8.self), radix: 16), size > 0,
              lineEnd + 2 + size <= body.count
        else { break }
        result += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
        index = lineEnd + 2 + size + 2
    }
    return result
}
