import CRdKafka
import Foundation
import Logging
import QuorumBus
import Synchronization

/// librdkafka version check: DESIGN.md §7 needs >= 2.3 (older versions cannot talk to the local broker).
public enum RdKafkaVersion {
    public static var number: Int32 { rd_kafka_version() }
    public static var string: String { String(cString: rd_kafka_version_str()) }
    public static let minimum: Int32 = 0x0203_0000
}

/// An `rd_kafka_t*` that may cross threads.
/// @unchecked: librdkafka documents `rd_kafka_t` as thread-safe; lifetime is managed by the owning client.
struct RdClient: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Tells a poll thread to stop, and lets the stopper wait until it has.
final class PollThreadControl: Sendable {
    private let stopFlag = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    var shouldStop: Bool { stopFlag.load(ordering: .acquiring) }
    func requestStop() { stopFlag.store(true, ordering: .releasing) }
    func markStopped() { stopped.signal() }
    /// Blocks until the thread called `markStopped()`. Call at most once.
    func waitUntilStopped() { stopped.wait() }
}

/// Text of a NUL-terminated C buffer.
func text(of buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// The text of a librdkafka error code.
func rdErrorText(_ err: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(err)) }

/// Builds an `rd_kafka_conf_t` from properties. The caller owns the result until `rd_kafka_new` succeeds.
func makeConf(_ properties: [(String, String)]) throws -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw BusError(.invalidConfiguration, "rd_kafka_conf_new failed") }
    var errbuf = [CChar](repeating: 0, count: 512)
    for (key, value) in properties {
        let result = rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count)
        if result != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            let shown = KafkaConfiguration.isSecret(key) ? "***" : value
            throw BusError(.invalidConfiguration,
                           "librdkafka rejected property \(key)=\(shown): \(text(of: errbuf)) (fix kafka properties in the configuration)")
        }
    }
    return conf
}

/// State that C callbacks reach through the client's opaque pointer.
///
/// Lifetime: the owning client (producer, consumer or admin) holds a strong reference from before
/// `rd_kafka_new` until after `rd_kafka_destroy` returns, and librdkafka calls callbacks only between
/// those two points, so the unretained pointer handed to C is always valid when used.
final class ClientContext: @unchecked Sendable {
    // @unchecked: `logger` is immutable; `lastError` and `lastConnectionFailure` are guarded by `lock`; `consumer` is
    // written before use starts.
    let logger: Logger
    private let lock = NSLock()
    private var _lastError: String?
    private var _allBrokersDown = false
    /// For consumers: the consumer whose rebalance callback this client runs. Weak, written once in the
    /// consumer's init before its poll thread starts.
    weak var consumer: KafkaConsumer?

    init(logger: Logger) { self.logger = logger }

    var lastError: String? {
        lock.lock(); defer { lock.unlock() }
        return _lastError
    }

    func recordError(_ text: String?) {
        lock.lock(); _lastError = text; lock.unlock()
    }

    private var _lastConnectionFailure: String?

    /// Why the last connection to a broker failed, as librdkafka logged it (facility `FAIL`, e.g. "SSL handshake failed:
    /// ... certificate verify failed"). The log callback runs on librdkafka's threads at once, whereas the error callback
    /// waits for a poll that an admin client never makes.
    var lastConnectionFailure: String? {
        lock.lock(); defer { lock.unlock() }
        return _lastConnectionFailure
    }

    func recordConnectionFailure(_ text: String) {
        lock.lock(); _lastConnectionFailure = text; lock.unlock()
    }

    /// Whether librdkafka reported every broker down since the client was made (a broker restart does).
    var allBrokersDownSeen: Bool {
        lock.lock(); defer { lock.unlock() }
        return _allBrokersDown
    }

    func recordAllBrokersDown() {
        lock.lock(); _allBrokersDown = true; lock.unlock()
    }

    var unretained: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ pointer: UnsafeMutableRawPointer?) -> ClientContext? {
        pointer.map { Unmanaged<ClientContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Installs log and error callbacks that route librdkafka's messages to swift-log.
func installCommonCallbacks(_ conf: OpaquePointer, context: ClientContext) {
    rd_kafka_conf_set_opaque(conf, context.unretained)
    rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buffer in
        guard let rk, let ctx = ClientContext.from(rd_kafka_opaque(rk)) else { return }
        let text = buffer.map { String(cString: $0) } ?? ""
        let fac = facility.map { String(cString: $0) } ?? ""
        if fac == "FAIL" { ctx.recordConnectionFailure(text) }
        // syslog levels: 0-3 error, 4 warning, 5-6 info/notice, 7 debug
        let swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
        ctx.logger.log(level: swiftLevel, "librdkafka: \(text)", metadata: ["kafka.facility": .string(fac)])
    }
    rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
        guard let ctx = ClientContext.from(opaque) else { return }
        let text = reason.map { String(cString: $0) } ?? rdErrorText(rd_kafka_resp_err_t(err))
        ctx.recordError(text)
        if rd_kafka_resp_err_t(err) == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN { ctx.recordAllBrokersDown() }
        ctx.logger.warning("kafka client error", metadata: ["kafka.error": .string(text)])
    }
}

/// Creates a client. Frees `conf` itself on failure (librdkafka takes it over only on success).
func makeClient(type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
    var errbuf = [CChar](repeating: 0, count: 512)
    guard let rk = rd_kafka_new(type, conf, &errbuf, errbuf.count) else {
        rd_kafka_conf_destroy(conf)
        throw BusError(.invalidConfiguration, "could not create the Kafka client: \(text(of: errbuf))")
    }
    return rk
}

/// Runs blocking work on a thread of its own (never on Swift's cooperative pool) and awaits its result.
enum Blocking {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = name
            thread.start()
        }
    }
}

/// Owns an `rd_kafka_topic_partition_list_t` and destroys it exactly once.
final class PartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 8) { pointer = rd_kafka_topic_partition_list_new(Int32(capacity)) }

    /// Takes ownership of a list librdkafka returned.
    init(owning pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) { self.pointer = pointer }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    func add(_ topic: String, _ partition: Int32, offset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)) {
        let element = rd_kafka_topic_partition_list_add(pointer, topic, partition)!
        element.pointee.offset = offset
    }

    /// (topic, partition, offset, error) of every element.
    var elements: [(tp: TopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        let count = Int(pointer.pointee.cnt)
        return (0..<count).map { i in
            let e = pointer.pointee.elems[i]
            return (TopicPartition(topic: String(cString: e.topic), partition: e.partition), e.offset, e.err)
        }
    }

    static func describe(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        guard let list else { return [] }
        return (0..<Int(list.pointee.cnt)).map { i in
            TopicPartition(topic: String(cString: list.pointee.elems[i].topic), partition: list.pointee.elems[i].partition)
        }
    }
}
