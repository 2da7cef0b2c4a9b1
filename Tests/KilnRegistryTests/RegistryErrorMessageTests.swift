import KilnImage
import Testing

@testable import KilnRegistry

/// Registry error messages that read as whole sentences and spell one registry response one way.
struct RegistryErrorMessageTests {
    @Test func connectionHintIsWholeSentence() {
        let error = RegistryError.connectionFailed(host: "127.0.0.1:1", reason: "Connection refused")
        let hint = error.diagnostic.hint ?? ""
        #expect(hint.hasSuffix("proxy or firewall"), "\(hint)")
        #expect(!hint.hasSuffix("between"), "\(hint)")
    }

    @Test func unauthorizedWithAndWithoutBody() {
        let bare = RegistryResponseFailure(method: "GET", url: "http://127.0.0.1:1/v2/x/manifests/1", status: 401)
        var withBody = bare
        withBody.errors = [RegistryErrorEntry(code: "UNAUTHORIZED", message: "authentication required")]
        let expected = "access to 127.0.0.1:1/x denied: unauthorized: authentication required"
        #expect(RegistryError.unauthorized(registry: "127.0.0.1:1", repository: "x", failure: bare).diagnostic.message == expected)
        #expect(
            RegistryError.unauthorized(registry: "127.0.0.1:1", repository: "x", failure: withBody).diagnostic.message
                == expected)
    }

    @Test func interruptedPullNamesImageAndLayer() {
        let cause = RegistryError.connectionFailed(host: "127.0.0.1:1", reason: "Connection refused")
        let error = RegistryError.pullInterrupted(reference: "127.0.0.1:1/t/big:1", item: "layer sha256:abc", cause: cause)
        #expect(
            error.diagnostic.message
                == "pull of 127.0.0.1:1/t/big:1 failed at layer sha256:abc: cannot connect to registry 127.0.0.1:1: Connection refused")
        #expect(error.diagnostic.hint == cause.diagnostic.hint)
    }

    @Test func interruptedPullNamesDigestOnce() {
        let cause = RegistryError.blobShort(digest: Digest.sha256(of: Array("x".utf8)), received: 1, size: 2)
        let error = RegistryError.pullInterrupted(
            reference: "a/b:1", item: "layer \(Digest.sha256(of: Array("x".utf8)))", cause: cause)
        #expect(error.diagnostic.message == "pull of a/b:1 failed: \(cause.diagnostic.message)")
    }

    @Test func interruptedUploadNamesResetOrClose() {
        let reset = RegistryError.requestInterrupted(
            host: "127.0.0.1:1", method: "PUT", url: "http://127.0.0.1:1/v2/t/blobs/uploads/1", sentBytes: 65536,
            bodyBytes: 1_048_576, reason: "Connection reset by peer")
        let push = RegistryError.pushInterrupted(
            reference: "127.0.0.1:1/t:1", repository: "t", item: "layer sha256:abc", cause: reset)
        #expect(
            push.diagnostic.message
                == "push of 127.0.0.1:1/t:1 failed: registry 127.0.0.1:1 reset the connection while kiln uploaded layer "
                + "sha256:abc to repository t, after 65536 of 1048576 bytes of the request (Connection reset by peer)")
        #expect(
            reset.diagnostic.message
                == "registry 127.0.0.1:1 reset the connection during PUT http://127.0.0.1:1/v2/t/blobs/uploads/1, after "
                + "kiln sent 65536 of 1048576 bytes of the request (Connection reset by peer)")

        let closed = RegistryError.requestInterrupted(
            host: "127.0.0.1:1", method: "PUT", url: "http://127.0.0.1:1/v2/t/manifests/1", sentBytes: 10, bodyBytes: 10,
            reason: nil)
        #expect(
            closed.diagnostic.message
                == "registry 127.0.0.1:1 closed the connection without a response during PUT "
                + "http://127.0.0.1:1/v2/t/manifests/1, after kiln sent 10 of 10 bytes of the request")
        #expect(closed.isRetryable)
        #expect(closed.isConnectionFailure)
    }
}
