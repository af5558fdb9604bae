import COpenBLAS

/// Process-wide OpenBLAS set-up.
///
/// OpenBLAS splits large products across threads, and the split (and so the order in which partial sums are added)
/// depends on the thread count, which by default is the number of cores. Floating-point addition is not associative,
/// so the same training job could produce different weights — and a different artifact digest — on a 2-core worker
/// and a 16-core worker. Our matrices are small (thousands of rows × tens of features), so threads buy nothing;
/// we pin OpenBLAS to one thread the first time any `Matrix` operation runs.
///
/// Note: this is a process-global setting of the OpenBLAS library (it affects every user of OpenBLAS in the process).
/// Byte-identical results are guaranteed for the same OpenBLAS build on the same CPU family; a different kernel
/// (e.g. AVX2 vs AVX-512) may round differently in the last bits.
public enum BLASRuntime {
    /// Evaluated once (Swift `static let` initialisation is thread-safe and happens exactly once).
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Pins OpenBLAS to one thread (idempotent, cheap after the first call).
    public static func ensureConfigured() {
        _ = configured
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
}

/// A small dense matrix of `Double`, stored row-major: element (r, c) is `values[r * cols + c]`.
///
/// Only the few operations the logistic-regression trainer needs are provided, each a single OpenBLAS call.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major storage, `rows * cols` elements.
    public let values: [Double]

    /// Creates a matrix from row-major storage. Precondition: `values.count == rows * cols`, both dimensions ≥ 0.
    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(cols)")
        precondition(values.count == rows * cols,
                     "Matrix \(rows)×\(cols) needs \(rows * cols) values, got \(values.count)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// Creates a matrix from an array of equally long rows. Precondition: every row has `cols` elements.
    public init(rowArrays: [[Double]], cols: Int) {
        var storage: [Double] = []
        storage.reserveCapacity(rowArrays.count * cols)
        for (index, row) in rowArrays.enumerated() {
            precondition(row.count == cols, "Matrix row \(index) has \(row.count) values, expected \(cols)")
            storage.append(contentsOf: row)
        }
        self.init(rows: rowArrays.count, cols: cols, values: storage)
    }

    /// Element (row, col).
    public subscript(row: Int, col: Int) -> Double {
        values[row * cols + col]
    }

    /// `A · x` (length `rows`), via `cblas_dgemv`. Precondition: `x.count == cols`.
    public func multiply(_ x: [Double]) -> [Double] {
        precondition(x.count == cols, "Matrix \(rows)×\(cols) cannot multiply a vector of length \(x.count)")
        var y = [Double](repeating: 0, count: rows)
        guard rows > 0, cols > 0 else { return y }
        BLASRuntime.ensureConfigured()
        values.withUnsafeBufferPointer { a in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(rows), blasint(cols),
                                1.0, a.baseAddress, blasint(cols), xp.baseAddress, 1, 0.0, yp.baseAddress, 1)
                }
            }
        }
        return y
    }

    /// `Aᵀ · v` (length `cols`), via `cblas_dgemv` with the transpose flag (no copy). Precondition: `v.count == rows`.
    public func transposeMultiply(_ v: [Double]) -> [Double] {
        precondition(v.count == rows, "Transpose of \(rows)×\(cols) matrix cannot multiply a vector of length \(v.count)")
        var y = [Double](repeating: 0, count: cols)
        guard rows > 0, cols > 0 else { return y }
        BLASRuntime.ensureConfigured()
        values.withUnsafeBufferPointer { a in
            v.withUnsafeBufferPointer { vp in
                y.withUnsafeMutableBufferPointer { yp in
                    cblas_dgemv(CblasRowMajor, CblasTrans, blasint(rows), blasint(cols),
                                1.0, a.baseAddress, blasint(cols), vp.baseAddress, 1, 0.0, yp.baseAddress, 1)
                }
            }
        }
        return y
    }
}

/// Vector helpers backed by OpenBLAS level-1 routines.
public enum Vector {
    /// `x · y` via `cblas_ddot`. Precondition: equal lengths.
    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot of vectors with lengths \(x.count) and \(y.count)")
        guard !x.isEmpty else { return 0 }
        BLASRuntime.ensureConfigured()
        return x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                cblas_ddot(blasint(x.count), xp.baseAddress, 1, yp.baseAddress, 1)
            }
        }
    }

    /// `y ← alpha · x + y` via `cblas_daxpy`. Precondition: equal lengths.
    public static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        precondition(x.count == y.count, "axpy of vectors with lengths \(x.count) and \(y.count)")
        guard !x.isEmpty else { return }
        BLASRuntime.ensureConfigured()
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                cblas_daxpy(blasint(xp.count), alpha, xp.baseAddress, 1, yp.baseAddress, 1)
            }
        }
    }
}
