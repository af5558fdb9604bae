/// Kafka's default key partitioner (murmur2, as in the Java client and librdkafka's `murmur2_random`):
/// partition = (murmur2(key) & 0x7fffffff) % partitions. The Kafka bus configures librdkafka with
/// the same function so that the in-memory bus and any Kafka client agree on where a key goes.
public enum Partitioner {
    public static func partition(forKey key: [UInt8], partitions: Int32) -> Int32 {
        precondition(partitions > 0, "a topic has at least one partition")
        return Int32((murmur2(key) & 0x7fff_ffff) % UInt32(partitions))
    }

    /// MurmurHash2, 32-bit, seed 0x9747b28c, as defined by Kafka's `Utils.murmur2`.
    public static func murmur2(_ data: [UInt8]) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        let length = data.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            let base = i * 4
            var k = UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16 | UInt32(data[base + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch length & 3 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
