/// An error from the ML library: a stable `code` for programs and a `message` for people that says what went wrong,
/// where, and what to do about it.
///
/// None of these errors is retriable: the same inputs fail the same way (training is deterministic), so a caller
/// should fix the job or the data rather than try again.
public struct MLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        /// A hyperparameter or configuration value is out of range.
        case invalidHyperparameter
        /// Not enough rows to train or validate.
        case tooFewRows
        /// The training labels contain only one class.
        case singleClass
        /// A feature (or price) is NaN or infinite.
        case nonFiniteValue
        /// Feature vectors of different widths, or a width that does not match the model.
        case widthMismatch
        /// Rows are not in strictly increasing event-time order.
        case unorderedRows
        /// A time range is empty or reversed.
        case invalidRange
        /// Optimisation produced a non-finite loss.
        case diverged
        /// A model artifact could not be decoded or is inconsistent.
        case corruptArtifact
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var isRetriable: Bool { false }

    /// `.invalidHyperparameter` naming the field, its value and the valid range: what every family's `validate` throws.
    static func invalid(_ name: String, _ value: Any, _ valid: String) -> MLError {
        MLError(.invalidHyperparameter, "\(name) = \(value) is invalid: use \(valid)")
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
