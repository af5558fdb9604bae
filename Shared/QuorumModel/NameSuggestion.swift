/// "Did you mean …?" for a misspelt name (a configuration key, a symbol): the candidate with the smallest edit
/// distance (Levenshtein, case-insensitive), if it is close enough to be a plausible typo.
public enum NameSuggestion {
    /// The closest candidate, or nil when none is within max(3, half the shorter name's length) edits.
    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let typed = Array(name.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(typed, Array(candidate.lowercased()))
            if best.map({ distance < $0.distance }) ?? true { best = (candidate, distance) }
        }
        guard let best else { return nil }
        return best.distance <= max(3, min(name.count, best.candidate.count) / 2) ? best.candidate : nil
    }

    /// Insertions, deletions and substitutions needed to turn `a` into `b` (two rows of the dynamic programme).
    public static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var above = Array(0...b.count)
        var row = Array(repeating: 0, count: b.count + 1)
        for (i, x) in a.enumerated() {
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                row[j + 1] = Swift.min(above[j + 1] + 1, row[j] + 1, above[j] + (x == y ? 0 : 1))
            }
            swap(&above, &row)
        }
        return above[b.count]
    }
}
