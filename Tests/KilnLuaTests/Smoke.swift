@testable import KilnLua
import Testing

@Test func smoke() throws {
    let vm = try Sandbox.makeVM(pluginName: "smoke", limits: .standard, services: SandboxServices())
    let results = try vm.run(source: Array("return 1, 2.5, 'x', {1, 2, a = true}, ('abc'):find('b'), string.gsub('hello world', 'o', '0')".utf8), chunkName: "smoke.lua")
    print(results)
    do {
        _ = try vm.run(source: Array("local x = io.open('/etc/passwd')".utf8), chunkName: "smoke.lua")
    } catch {
        print(error.diagnostic.rendered())
    }
    do {
        _ = try vm.run(source: Array("local s = ('a'):rep(30):find(('a-'):rep(30)..'b')".utf8), chunkName: "smoke.lua")
    } catch {
        print(error.diagnostic.rendered())
    }
}
