import KilnContainer
import KilnDiagnostics

/// `kiln port`: the published ports of a running container, `80/tcp -> 0.0.0.0:8080`, or the
/// host addresses of one container port.
enum PortCommand {
    static let spec = CommandSpec(
        name: "port", summary: "List port mappings or a specific mapping for the container",
        usage: "CONTAINER [PRIVATE_PORT[/PROTO]]", arity: .range(1...2)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .recordingState)
        let container = await manager.reconcile(try manager.repository.find(arguments.positionals[0]))
        let ports = container.status.isActive ? container.state.ports : []
        guard arguments.positionals.count == 2 else {
            for port in ports.sorted(by: { ($0.containerPort, $0.proto, $0.hostIP) < ($1.containerPort, $1.proto, $1.hostIP) }) {
                context.stdout.line("\(port.containerKey) -> \(port.hostIP):\(port.hostPort)")
            }
            return ExitStatus.success
        }
        let asked = arguments.positionals[1]
        let key = asked.contains("/") ? asked : asked + "/tcp"
        let matching = ports.filter { $0.containerKey == key }
        guard !matching.isEmpty else { throw ContainerError(.portNotPublished(port: key, container: container.shortID)) }
        for port in matching {
            context.stdout.line("\(port.hostIP):\(port.hostPort)")
        }
        return ExitStatus.success
    }
}
