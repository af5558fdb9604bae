public enum QuorumProtoPlaceholder {}
