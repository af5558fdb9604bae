/// Durations in run configurations: a number and a unit — `30m`, `12h`, `90d`, `2w` — or a number of seconds.
public enum Durations {
    public static let units: [(suffix: Character, seconds: Int64)] = [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]

    public static func parse(_ text: String) -> Nanos? {
        guard let last = text.last else { return nil }
        let (digits, seconds): (Substring, Int64)
        if let unit = units.first(where: { $0.suffix == last }) {
            (digits, seconds) = (text.dropLast(), unit.seconds)
        } else {
            (digits, seconds) = (Substring(text), 1)
        }
        guard let count = Int64(digits), count >= 0, count <= 36_500 * 86_400 / seconds else { return nil }
        return count * seconds * 1_000_000_000
    }

    /// The largest unit that divides the duration: 90d, 36h, 45m, or seconds.
    public static func text(_ nanos: Nanos) -> String {
        let seconds = nanos / 1_000_000_000
        for unit in units where seconds % unit.seconds == 0 && seconds > 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }
}
