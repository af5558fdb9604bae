import Foundation
import Testing

/// The reference fixtures written by scripts/gen-metric-fixtures (Tests/Fixtures/metrics/*.json), read relative to
/// this file so that the tests need neither the script nor Python.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/metrics")

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(T.self, from: data)
    }
}

/// One expected value of a fixture: a number (NaN and ±inf included), an integer, or null, with its reference.
struct Expected: Decodable {
    var value: Double?
    var integer: Int64?
    var reference: String

    enum CodingKeys: String, CodingKey { case value, reference }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reference = try c.decode(String.self, forKey: .reference)
        if try c.decodeNil(forKey: .value) {
            value = nil
            integer = nil
        } else if let i = try? c.decode(Int64.self, forKey: .value) {
            integer = i
            value = Double(i)
        } else {
            value = try c.decode(Double.self, forKey: .value)
            integer = nil
        }
    }
}

/// Equal to 1e-9 relative, or to 1e-12 absolute for values at rounding-noise level near 0; NaN equals NaN and
/// infinities must match exactly.
func agrees(_ actual: Double, _ expected: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
    if expected.isNaN { return actual.isNaN }
    if expected.isInfinite || actual.isInfinite { return actual == expected }
    return abs(actual - expected) <= max(relative * abs(expected), absolute)
}

/// Checks element-wise agreement of two arrays of the same length.
func expectAgrees(_ actual: [Double], _ expected: [Double], _ what: String,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        #expect(agrees(a, e), "\(what)[\(i)]: \(a), expected \(e)", sourceLocation: sourceLocation)
    }
}
