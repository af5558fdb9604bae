// Domain value types; see Money.swift etc.
