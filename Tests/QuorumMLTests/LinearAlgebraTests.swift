import Testing
@testable import QuorumML

@Suite("Matrix and vector operations (OpenBLAS)")
struct LinearAlgebraTests {
    func randomMatrix(rows: Int, cols: Int, rng: inout SplitMix64) -> Matrix {
        Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in rng.unit() * 10 })
    }

    @Test("A·x equals a naive double loop", arguments: [(1, 1), (3, 2), (7, 5), (64, 13), (200, 1), (1, 50)])
    func multiplyMatchesNaiveLoop(shape: (Int, Int)) {
        var rng = SplitMix64(seed: UInt64(shape.0 * 1000 + shape.1))
        let a = randomMatrix(rows: shape.0, cols: shape.1, rng: &rng)
        let x = (0..<shape.1).map { _ in rng.unit() }
        let y = a.multiply(x)
        #expect(y.count == shape.0)
        for r in 0..<shape.0 {
            var expected = 0.0
            for c in 0..<shape.1 { expected += a.values[r * shape.1 + c] * x[c] }
            #expect(abs(y[r] - expected) <= 1e-12 * max(1, abs(expected)))
        }
    }

    @Test("Aᵀ·v equals a naive double loop", arguments: [(1, 1), (3, 2), (7, 5), (64, 13), (200, 1), (1, 50)])
    func transposeMultiplyMatchesNaiveLoop(shape: (Int, Int)) {
        var rng = SplitMix64(seed: UInt64(shape.0 * 7 + shape.1))
        let a = randomMatrix(rows: shape.0, cols: shape.1, rng: &rng)
        let v = (0..<shape.0).map { _ in rng.unit() }
        let y = a.transposeMultiply(v)
        #expect(y.count == shape.1)
        for c in 0..<shape.1 {
            var expected = 0.0
            for r in 0..<shape.0 { expected += a[r, c] * v[r] }
            #expect(abs(y[c] - expected) <= 1e-12 * max(1, abs(expected)))
        }
    }

    @Test("hand-checked 2×3 product and its transpose")
    func handChecked() {
        let a = Matrix(rowArrays: [[1, 2, 3], [4, 5, 6]], cols: 3)
        #expect(a.multiply([1, 0, -1]) == [-2, -2])
        #expect(a.transposeMultiply([1, 2]) == [9, 12, 15])
        #expect(a[1, 2] == 6)
    }

    @Test("dot and axpy against hand values and loops")
    func dotAndAxpy() {
        #expect(Vector.dot([1, 2, 3], [4, -5, 6]) == 12)
        var y: [Double] = [1, 1, 1]
        Vector.axpy(2, [1, 2, 3], &y)
        #expect(y == [3, 5, 7])
        var rng = SplitMix64(seed: 9)
        let a = (0..<257).map { _ in rng.unit() }
        let b = (0..<257).map { _ in rng.unit() }
        var expected = 0.0
        for i in a.indices { expected += a[i] * b[i] }
        #expect(abs(Vector.dot(a, b) - expected) < 1e-12)
        #expect(Vector.dot([], []) == 0)
    }

    @Test("OpenBLAS runs on one thread after configuration")
    func singleThreaded() {
        BLASRuntime.ensureConfigured()
        #expect(BLASRuntime.threadCount == 1)
    }
}
