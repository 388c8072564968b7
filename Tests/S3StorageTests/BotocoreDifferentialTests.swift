import Foundation
import S3Storage
import TestSupport
import Testing

/// Rendition's signer against botocore's (an independent implementation) on generated S3 requests: keys with
/// unicode, spaces, `+`, `~`, `%`, `//`; query parameters; extra headers with odd spacing; session tokens;
/// signed payloads and `UNSIGNED-PAYLOAD`.
@Suite struct BotocoreDifferentialTests {
    @Test func sixHundredRequestsSignIdentically() throws {
        let script = Repository.root().appendingPathComponent("Tests/S3StorageTests/botocore_sign.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "600", "20261129"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "botocore is needed (pip install botocore): \(errors)")

        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var checked = 0
        var unsigned = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let credentials = AWSCredentials(
                accessKeyID: json["accessKeyID"] as! String, secretAccessKey: json["secretAccessKey"] as! String,
                sessionToken: json["sessionToken"] as? String)
            let signer = SigV4Signer(credentials: credentials, region: json["region"] as! String, service: "s3")
            let query = (json["query"] as! [[String]]).map { (name: $0[0], value: $0[1]) }
            let headers = (json["headers"] as! [[String]]).map { (name: $0[0], value: $0[1]) }
            let payloadHash = json["payloadHash"] as! String
            if payloadHash == SigV4Signer.unsignedPayload { unsigned += 1 }
            let request = SigningRequest(
                method: json["method"] as! String, path: json["path"] as! String, query: query, headers: headers,
                payloadHash: payloadHash)
            let date = try #require(formatter.date(from: json["amzDate"] as! String))
            let signed = signer.sign(request, date: date)
            #expect(signed.canonicalRequest == json["canonicalRequest"] as! String, "\(line)")
            #expect(
                signed.headers.first { $0.name == "authorization" }?.value == json["authorization"] as? String,
                "\(line)")
            checked += 1
        }
        #expect(checked == 600)
        #expect(unsigned > 50, "both signed payloads and UNSIGNED-PAYLOAD are covered")
    }
}
