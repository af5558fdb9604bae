/// A tradable instrument, e.g. "BTC-USD".
public struct Symbol: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { name = value }
    public var description: String { name }
    public static func < (a: Symbol, b: Symbol) -> Bool { a.name < b.name }
}

/// Nanoseconds since the Unix epoch, UTC. Event time drives every decision.
public typealias Nanos = Int64

public enum Side: String, Sendable, Hashable, Codable {
    case buy, sell
    public var sign: Int { self == .buy ? 1 : -1 }
}

/// One OHLCV bar. `openTime` is the start of the interval; the bar is known at `closeTime`
/// (= `openTime + interval`), which is its event time.
public struct Bar: Sendable, Hashable, Codable {
    public var symbol: Symbol
    public var openTime: Nanos
    public var intervalSeconds: Int64
    public var open: Fixed
    public var high: Fixed
    public var low: Fixed
    public var close: Fixed
    public var volume: Fixed

    public init(symbol: Symbol, openTime: Nanos, intervalSeconds: Int64, open: Fixed, high: Fixed, low: Fixed, close: Fixed, volume: Fixed) {
        self.symbol = symbol
        self.openTime = openTime
        self.intervalSeconds = intervalSeconds
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    public var closeTime: Nanos { openTime + intervalSeconds * 1_000_000_000 }
}

/// One execution (exact money): `price` already includes slippage; `fee` is in quote currency.
/// Made by execution, applied by risk (exposure, PnL) and the ledger; a fill id is applied once.
public struct Fill: Sendable, Hashable, Codable {
    /// Deterministic: "\(clientOrderID)-f1" (paper orders fill in one piece).
    public var fillID: String
    public var clientOrderID: String
    public var symbol: Symbol
    public var side: Side
    /// Positive; `side` gives the sign.
    public var quantity: Fixed
    public var price: Fixed
    public var fee: Fixed
    /// Open time of the bar that filled it.
    public var time: Nanos

    public init(fillID: String, clientOrderID: String, symbol: Symbol, side: Side, quantity: Fixed, price: Fixed, fee: Fixed, time: Nanos) {
        self.fillID = fillID
        self.clientOrderID = clientOrderID
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.price = price
        self.fee = fee
        self.time = time
    }

    /// +quantity for a buy, −quantity for a sell.
    public var signedQuantity: Fixed { side == .buy ? quantity : -quantity }
}

