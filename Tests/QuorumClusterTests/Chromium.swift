import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: it
/// reads NUL-terminated JSON commands on descriptor 3 and writes answers and events on descriptor 4), so the UI test
/// needs no WebSocket client and no network port. One page target, attached in flat mode.
///
/// The blocking pipe reads run on a Dispatch queue, never on Swift's cooperative pool.
final class Chromium: @unchecked Sendable {
    // @unchecked: used by one test task at a time; each call runs on `queue` (serial).
    static let binary = "/usr/bin/chromium"

    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private let profile: String
    private var nextID = 1
    private var pending: [UInt8] = []
    private var session = ""
    private let queue = DispatchQueue(label: "chromium-cdp")

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Starts the browser (stderr to `log`) and opens one page.
    init(log: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw Failure("\(Self.binary) is missing: `make test-ui` installs it (apt-get install chromium)")
        }
        profile = NSTemporaryDirectory() + "quorum-ui-chromium-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure("pipe() failed: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        for fd in [toBrowser[0], toBrowser[1], fromBrowser[0], fromBrowser[1]] where fd > 4 { posix_spawn_file_actions_addclose(&actions, fd) }
        let arguments = [Self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--no-default-browser-check", "--remote-debugging-pipe", "--user-data-dir=\(profile)", "about:blank"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.binary, &actions, nil, argv, environ)
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        guard rc == 0 else { throw Failure("cannot start \(Self.binary): \(String(cString: strerror(rc)))") }
        pid = child
        commands = toBrowser[1]
        answers = fromBrowser[0]
        let target = try await call("Target.createTarget", ["url": "about:blank"], inSession: false)
        guard let targetID = target["targetId"] as? String else { throw Failure("no targetId in \(target)") }
        let attached = try await call("Target.attachToTarget", ["targetId": targetID, "flatten": true], inSession: false)
        guard let id = attached["sessionId"] as? String else { throw Failure("no sessionId in \(attached)") }
        session = id
        _ = try await call("Page.enable")
        _ = try await call("Runtime.enable")
    }

    /// Sends one command (to the page's session unless `inSession` is false) and returns its `result`; events are skipped.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], inSession: Bool = true, timeout: Double = 30) async throws -> [String: Any] {
        let encoded = try JSONSerialization.data(withJSONObject: params)  // Data crosses to the queue; JSON values do not
        let result: Data = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.blockingCall(method, encoded, inSession: inSession, timeout: timeout) })
            }
        }
        return try JSONSerialization.jsonObject(with: result) as? [String: Any] ?? [:]
    }

    /// Sends one command and returns its `result` as JSON bytes.
    private func blockingCall(_ method: String, _ params: Data, inSession: Bool, timeout: Double) throws -> Data {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": try JSONSerialization.jsonObject(with: params)]
        if inSession { message["sessionId"] = session }
        var bytes = Array(try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("writing \(method) to chromium failed: errno \(errno)") }
            sent += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = pending.firstIndex(of: 0) {
                let frame = Array(pending[..<end])
                pending.removeSubrange(...end)
                guard let object = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any],
                      object["id"] as? Int == id else { continue }
                if let error = object["error"] { throw Failure("\(method) failed: \(error)") }
                return try JSONSerialization.data(withJSONObject: object["result"] as? [String: Any] ?? [:])
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure("chromium did not answer \(method) within \(Int(timeout)) s") }
            var poller = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw Failure("poll failed: errno \(errno)") }
            guard poller.revents != 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let n = buffer.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("chromium closed its DevTools pipe (it exited?) while waiting for \(method)") }
            pending += buffer[..<n]
        }
    }

    /// Opens `url` and waits until the document has loaded.
    func open(_ url: String) async throws {
        try await call("Page.navigate", ["url": url])
        try await waitFor("document.readyState === 'complete'", what: "\(url) to load")
    }

    /// The value of a JavaScript expression in the page (JSON values).
    func evaluate(_ expression: String) async throws -> Any? {
        let result = try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure("\(expression) threw: \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` until it is true, or fails naming `what` after `seconds`.
    func waitFor(_ expression: String, what: String, seconds: Double = 30) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await evaluate("!!(\(expression))") as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let text = (try? await evaluate("(document.querySelector('main') || document.body).innerText.slice(0, 1500)")) as? String  // for the message only
        throw Failure("waited \(Int(seconds)) s for \(what) (\(expression)); the page shows:\n\(text ?? "(nothing)")")
    }

    /// The viewport: a laptop (1280×900) or a phone (390×844, mobile, 2× pixels).
    func viewport(phone: Bool) async throws {
        try await call("Emulation.setDeviceMetricsOverride", [
            "width": phone ? 390 : 1280, "height": phone ? 844 : 900, "deviceScaleFactor": phone ? 2 : 1, "mobile": phone,
        ])
    }

    /// A PNG of the whole page (not only the viewport) written to `path`.
    func screenshot(_ path: String) async throws {
        let shot = try await call("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else { throw Failure("no screenshot data") }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Closes the browser (SIGTERM, SIGKILL after 5 s) and removes its profile.
    func close() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for i in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            if i == 50 { kill(pid, SIGKILL) }
            usleep(100_000)
        }
        Glibc.close(commands)
        Glibc.close(answers)
        try? FileManager.default.removeItem(atPath: profile)  // a leftover temp folder is harmless
    }
}
