import QuorumModel
import Testing
@testable import QuorumPostgres

@Suite("Migrations")
struct MigrationTests {
    @Test("a migration's checksum is the SHA-256 of its SQL: the standard vectors")
    func checksumIsSHA256() {
        func checksum(_ sql: String) -> String { Migration(version: 1, name: "x", sql: sql).checksum }
        #expect(checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(checksum("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(checksum("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(checksum(String(repeating: "a", count: 1000))
            == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect([0x00, 0x0f, 0xa5, 0xff].hexString == "000fa5ff")
    }

    @Test func theMigrationListIsNumberedOneToNWithoutGaps() throws {
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
        #expect(Set(Migration.all.map(\.name)).count == Migration.all.count)
        for migration in Migration.all {
            #expect(!migration.statements.isEmpty, "migration \(migration.version) has no statement")
        }
        try PostgresStore.validate(Migration.all)
    }

    @Test func validateRejectsOutOfOrderVersions() {
        let list = [Migration(version: 2, name: "b", sql: "SELECT 1"), Migration(version: 1, name: "a", sql: "SELECT 1")]
        #expect(throws: PostgresStoreError.self) { try PostgresStore.validate(list) }
        #expect(throws: PostgresStoreError.self) {
            try PostgresStore.validate([Migration(version: 0, name: "zero", sql: "SELECT 1")])
        }
    }

    @Test func checksumChangesWithTheSQL() {
        let a = Migration(version: 1, name: "a", sql: "CREATE TABLE a (x int);")
        let b = Migration(version: 1, name: "a", sql: "CREATE TABLE a (x bigint);")
        #expect(a.checksum != b.checksum)
        #expect(a.checksum.count == 64)
    }

    @Test func splitsStatementsAtTopLevelSemicolonsOnly() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE t (x text DEFAULT 'a;b', "we;ird" int);
            /* block; /* nested; */ still comment */
            INSERT INTO t (x) VALUES ('it''s; fine');
            CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;
            DO $$ BEGIN PERFORM 1; END $$;
            SELECT E'back\\';slash';
            ;
            -- trailing comment only
            """
        let statements = SQLSplitter.split(sql)
        #expect(statements.count == 5, "\(statements)")
        #expect(statements[0].hasSuffix("CREATE TABLE t (x text DEFAULT 'a;b', \"we;ird\" int)"))
        #expect(statements[1].hasSuffix("INSERT INTO t (x) VALUES ('it''s; fine')"))
        #expect(statements[2] == "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql")
        #expect(statements[3] == "DO $$ BEGIN PERFORM 1; END $$")
        #expect(statements[4] == "SELECT E'back\\';slash'")
    }

    @Test func singleStatementWithoutSemicolonIsKept() {
        #expect(SQLSplitter.split("SELECT $1 + 1") == ["SELECT $1 + 1"])
        #expect(SQLSplitter.split("  \n -- only a comment\n").isEmpty)
    }
}
