import Foundation

/// The envelope every model artifact shares: UTF-8 JSON with sorted keys, `{"format", "formatVersion", "model"}`.
/// The same model always gives the same bytes (Doubles in Swift's shortest round-trip form, so they load exactly);
/// `TrainedModel(artifact:)` reads `format` to pick the family. docs/models.md documents the formats.
enum ModelArtifact {
    private struct Envelope<M: Codable>: Codable {
        let format: String
        let formatVersion: Int
        let model: M
    }

    /// Only the header, to find the family.
    private struct Header: Codable {
        let format: String
        let formatVersion: Int
    }

    static func encode<M: Codable>(_ model: M, format: String, version: Int) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Never fail on a NaN (it is written as a string and rejected on load with a clear error).
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return [UInt8](try encoder.encode(Envelope(format: format, formatVersion: version, model: model)))
        } catch {
            preconditionFailure("encoding a model cannot fail with a non-throwing float strategy: \(error)")
        }
    }

    /// The artifact's format name; throws `.corruptArtifact` when the bytes are not an artifact at all.
    static func format(of bytes: [UInt8]) throws(MLError) -> String {
        do {
            return try JSONDecoder().decode(Header.self, from: Data(bytes)).format
        } catch {
            throw MLError(.corruptArtifact, "model artifact (\(bytes.count) bytes) is not a Quorum model artifact "
                          + "(JSON with format, formatVersion and model): \(error)")
        }
    }

    /// Decodes an artifact of `format` and `version`; throws `.corruptArtifact` saying what is wrong.
    static func decode<M: Codable>(_ type: M.Type, from bytes: [UInt8], format: String, version: Int) throws(MLError) -> M {
        let envelope: Envelope<M>
        do {
            let header = try JSONDecoder().decode(Header.self, from: Data(bytes))
            guard header.format == format else {
                throw MLError(.corruptArtifact, "artifact format is \"\(header.format)\", expected \"\(format)\"")
            }
            guard header.formatVersion == version else {
                throw MLError(.corruptArtifact, "artifact format version \(header.formatVersion) of \(format) is not supported "
                              + "(this build reads version \(version)); upgrade the reader or retrain")
            }
            envelope = try JSONDecoder().decode(Envelope<M>.self, from: Data(bytes))
        } catch let error as MLError {
            throw error
        } catch {
            throw MLError(.corruptArtifact, "model artifact (\(bytes.count) bytes) is not a valid \(format) JSON document: \(error)")
        }
        return envelope.model
    }
}
