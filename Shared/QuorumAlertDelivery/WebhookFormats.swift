import Foundation

/// An alert as it is delivered to people: what happened, how urgent, and its id (the de-duplication key).
public struct AlertNotice: Sendable, Hashable {
    /// Deterministic alert id; a notice with an id already delivered (or queued) is not sent again.
    public var id: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// The machine-readable code, e.g. `drawdown` or `drawdown_resolved`.
    public var code: String
    public var message: String
    /// When it happened (ns since the epoch).
    public var timeNs: Int64

    public init(id: String, severity: String, code: String, message: String, timeNs: Int64) {
        self.id = id
        self.severity = severity
        self.code = code
        self.message = message
        self.timeNs = timeNs
    }

    /// One line for chat: `[CRITICAL] drawdown: … (2019-03-01T12:00:00Z, id drawdown:account:…)`.
    public var text: String {
        let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(timeNs) / 1e9))
        return "[\(severity.uppercased())] \(code): \(message) (\(time), id \(id))"
    }
}

/// The chat services an alert can be delivered to, each with its own request format.
public enum WebhookKind: String, Sendable, Hashable, CaseIterable {
    /// Slack incoming webhook: `POST <webhook URL>` with `{"text": …}`.
    case slack
    /// Discord webhook: `POST <webhook URL>` with `{"content": …, "username": …, "allowed_mentions": {"parse": []}}`.
    case discord
    /// Telegram Bot API: `POST <api>/bot<token>/sendMessage` with `{"chat_id": …, "text": …}`.
    case telegram
}

/// Where alerts go. `url` is the full request URL and holds the secret (Slack's and Discord's webhook URL, Telegram's
/// bot token in the path): it is never logged and never part of an error; `secrets` lists what to mask.
public struct WebhookDestination: Sendable, Hashable {
    /// Name in logs and metrics (`slack`, `discord`, `telegram`).
    public var name: String
    public var kind: WebhookKind
    public var url: String
    /// Telegram's chat id (empty for the others).
    public var chatID: String
    /// Texts that must never appear in a log line or error (the URL, the token).
    public var secrets: [String]

    /// A Slack or Discord webhook.
    public init(name: String, kind: WebhookKind, url: String) {
        self.name = name
        self.kind = kind
        self.url = url
        chatID = ""
        secrets = [url]
    }

    /// A Telegram bot: `apiBase` is `https://api.telegram.org` (another base for tests), `token` the bot's token.
    public init(telegramAPI apiBase: String, token: String, chatID: String, name: String = "telegram") {
        self.name = name
        kind = .telegram
        let base = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        url = "\(base)/bot\(token)/sendMessage"
        self.chatID = chatID
        secrets = [url, token]
    }

    /// `text` with every secret of this destination replaced by `***`.
    public func redact(_ text: String) -> String {
        secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }
}

/// The JSON bodies of the three formats.
public enum WebhookPayload {
    /// Discord refuses `content` over 2,000 characters, Telegram `text` over 4,096; Slack advises 4,000.
    static func limit(_ kind: WebhookKind) -> Int {
        switch kind {
        case .slack: 4_000
        case .discord: 2_000
        case .telegram: 4_096
        }
    }

    struct Slack: Encodable { var text: String }
    struct Discord: Encodable {
        struct Mentions: Encodable { var parse: [String] = [] }
        var content: String
        var username: String
        /// No `@everyone` or role ping from an alert's text.
        var allowed_mentions = Mentions()
    }
    struct Telegram: Encodable {
        var chat_id: String
        var text: String
        var disable_web_page_preview = true
    }

    /// The request body for `notice` at `destination`.
    public static func body(_ notice: AlertNotice, for destination: WebhookDestination) -> [UInt8] {
        let text = truncate(notice.text, to: limit(destination.kind))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        switch destination.kind {
        case .slack: data = try? encoder.encode(Slack(text: slackEscaped(text)))
        case .discord: data = try? encoder.encode(Discord(content: text, username: "Quorum"))
        case .telegram: data = try? encoder.encode(Telegram(chat_id: destination.chatID, text: text))
        }
        // Encoding plain strings into these structs cannot fail; an empty body would be refused by the receiver and counted.
        return data.map { Array($0) } ?? []
    }

    /// Slack's mrkdwn treats `&`, `<` and `>` as control characters: they must be escaped.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
