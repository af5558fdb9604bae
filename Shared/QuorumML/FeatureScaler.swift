/// Standardises features: z = (x − mean) / std, with mean and std fitted on the TRAINING rows only
/// (fitting on validation rows would leak their distribution into the model).
///
/// `std` is the population standard deviation; a constant feature (std 0) gets std 1 so it maps to 0 instead of NaN.
public struct FeatureScaler: Sendable, Codable, Equatable {
    public let means: [Double]
    public let stds: [Double]

    public init(means: [Double], stds: [Double]) {
        self.means = means
        self.stds = stds
    }

    /// Number of features.
    public var width: Int { means.count }

    /// What an artifact's scaler must satisfy for `width` features: nil when sound, else what is wrong.
    func problem(width: Int) -> String? {
        guard means.count == width, stds.count == width, means.allSatisfy(\.isFinite), stds.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            return "artifact scaler does not fit \(width) features, or has a non-finite mean or a std that is not > 0"
        }
        return nil
    }

    /// Fits means and stds column by column over `rows` (each of length `width`). Two-pass, in row order, so the
    /// result is deterministic. Precondition: at least one row, all rows of length `width`, finite values.
    public static func fit(rows: [[Double]], width: Int) -> FeatureScaler {
        precondition(!rows.isEmpty, "FeatureScaler.fit needs at least one row")
        let n = Double(rows.count)
        var means = [Double](repeating: 0, count: width)
        for row in rows {
            precondition(row.count == width, "FeatureScaler.fit: row of width \(row.count), expected \(width)")
            for j in 0..<width { means[j] += row[j] }
        }
        for j in 0..<width { means[j] /= n }
        var variances = [Double](repeating: 0, count: width)
        for row in rows {
            for j in 0..<width {
                let d = row[j] - means[j]
                variances[j] += d * d
            }
        }
        let stds = variances.map { variance -> Double in
            let std = (variance / n).squareRoot()
            return std > 0 && std.isFinite ? std : 1
        }
        return FeatureScaler(means: means, stds: stds)
    }

    /// The standardised copy of one feature vector. Precondition: `x.count == width`.
    public func transform(_ x: [Double]) -> [Double] {
        precondition(x.count == width, "FeatureScaler.transform: vector of width \(x.count), expected \(width)")
        var z = [Double](repeating: 0, count: width)
        for j in 0..<width { z[j] = (x[j] - means[j]) / stds[j] }
        return z
    }

    /// Standardises every row into one row-major matrix.
    public func transform(rows: [[Double]]) -> Matrix {
        var storage: [Double] = []
        storage.reserveCapacity(rows.count * width)
        for row in rows { storage.append(contentsOf: transform(row)) }
        return Matrix(rows: rows.count, cols: width, values: storage)
    }
}
