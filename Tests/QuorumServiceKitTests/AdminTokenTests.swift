import QuorumServiceKit
import Testing

@Suite("Admin token")
struct AdminTokenTests {
    @Test("only the exact token in a Bearer header authorizes; an empty token is no token; the token is never printed")
    func matching() {
        #expect(AdminToken("") == nil && AdminToken("  \n") == nil)
        let token = AdminToken(" s3cret-token\n")!
        #expect(token.matches("s3cret-token"))
        for wrong in ["", "s3cret-toke", "s3cret-tokenX", "S3cret-token", "x3cret-token", "s3cret-token "] { #expect(!token.matches(wrong), "\(wrong)") }
        #expect(token.authorizes(authorizationHeader: "Bearer s3cret-token"))
        #expect(token.authorizes(authorizationHeader: "bearer s3cret-token"))
        for header in [nil, "s3cret-token", "Basic s3cret-token", "Bearer ", "Bearer s3cret"] as [String?] {
            #expect(!token.authorizes(authorizationHeader: header), "\(header ?? "nil")")
        }
        #expect(!"\(token)".contains("s3cret") && !String(reflecting: token).contains("s3cret"))
    }
}
