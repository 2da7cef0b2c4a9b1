import Foundation
import KilnBuild
import KilnContainer
import KilnStore

/// The text of container list columns, in the Docker CLI's words.
enum ContainerDisplay {
    /// `Up 2 minutes (healthy)`, `Exited (0) 5 seconds ago`, `Created`, as Docker's
    /// `State.String()` words them.
    static func status(_ container: Container, now: Double) -> String {
        let state = container.state
        switch container.status {
        case .running, .paused, .restarting:
            if container.status == .restarting {
                return "Restarting (\(state.exitCode)) \(HumanUnits.ago(Int64(state.finishedAt ?? now), now: Int64(now)))"
            }
            var text = "Up " + HumanUnits.duration(seconds: Int64(now - (state.startedAt ?? now)))
            if container.status == .paused { text += " (Paused)" }
            if let health = state.health {
                text += health.status == "starting" ? " (health: starting)" : " (\(health.status))"
            }
            return text
        case .removing:
            return "Removal In Progress"
        case .dead:
            return "Dead"
        case .created:
            return "Created"
        case .exited:
            guard let finished = state.finishedAt else { return "Created" }
            return "Exited (\(state.exitCode)) \(HumanUnits.ago(Int64(finished), now: Int64(now)))"
        }
    }

    /// Formats the command as `docker ps` quotes it: `"httpd -f -p 80"`, cut to 20 characters with `…`
    /// unless `truncate` is false.
    static func command(_ container: Container, truncate: Bool) -> String {
        // Arguments with spaces get single quotes, as Docker's container list writes them.
        var command = container.specification.argv.enumerated().map { index, word in
            index > 0 && word.contains(" ") ? "'\(word)'" : word
        }.joined(separator: " ")
        if container.specification.initProcess { command = "/sbin/docker-init -- " + command }
        if truncate, command.count > 20 {
            command = String(command.prefix(19)) + "…"
        }
        return GoFormat.quoted(command)
    }

    /// `0.0.0.0:4000->4000/tcp, 80/tcp`: published ports (consecutive ones as a range), then
    /// exposed ports that are not published, for a running container; empty otherwise.
    static func ports(_ container: Container) -> String {
        guard container.status.isActive else { return "" }
        let published = container.state.ports.sorted {
            ($0.proto, $0.hostIP, $0.containerPort) < ($1.proto, $1.hostIP, $1.containerPort)
        }
        var parts: [String] = []
        var index = 0
        while index < published.count {
            let first = published[index]
            var last = first
            var next = index + 1
            while next < published.count, published[next].proto == first.proto, published[next].hostIP == first.hostIP,
                published[next].containerPort == last.containerPort + 1, published[next].hostPort == last.hostPort + 1
            {
                last = published[next]
                next += 1
            }
            let host = first.hostPort == last.hostPort ? "\(first.hostPort)" : "\(first.hostPort)-\(last.hostPort)"
            let inside =
                first.containerPort == last.containerPort ? "\(first.containerPort)" : "\(first.containerPort)-\(last.containerPort)"
            parts.append("\(first.hostIP):\(host)->\(inside)/\(first.proto)")
            index = next
        }
        let publishedKeys = Set(published.map(\.containerKey))
        for key in container.specification.exposedPorts where !publishedKeys.contains(key) {
            parts.append(key)
        }
        return parts.joined(separator: ", ")
    }

    /// Returns the image column: the name the container was created with while it still names
    /// the same image, else the image ID's first 12 hex digits.
    static func image(_ container: Container, store: Store) -> String {
        let spec = container.specification
        if let current = try? store.image(named: spec.image), current.id.description == spec.imageID {
            return spec.image
        }
        return String(spec.imageID.split(separator: ":").last?.prefix(12) ?? "")
    }

    /// Makes one row of `kiln ps` with the fields of the Docker CLI's container context.
    static func row(_ container: Container, store: Store, truncate: Bool, size: Int64?, now: Double) -> OutputJSON {
        let spec = container.specification
        let labels = spec.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let mounts = spec.mounts.map { $0.kind == .bind ? $0.source : String($0.source.prefix(truncate && $0.anonymous ? 12 : 255)) }
        var sizeText = ""
        if let size {
            sizeText = HumanUnits.size(size)
            if let image = try? store.image(named: spec.imageID) {
                sizeText += " (virtual \(HumanUnits.size(size + image.size)))"
            }
        }
        return .map([
            "Command": .string(command(container, truncate: truncate)),
            "CreatedAt": .string(HumanUnits.goTime(Int64(container.created))),
            "ID": .string(truncate ? container.shortID : container.id),
            "Image": .string(image(container, store: store)),
            "Labels": .string(labels),
            "LocalVolumes": .string("\(spec.mounts.filter { $0.kind == .volume }.count)"),
            "Mounts": .string(mounts.joined(separator: ",")),
            "Names": .string(container.name),
            "Networks": .string(spec.networkMode),
            "Ports": .string(ports(container)),
            "RunningFor": .string(HumanUnits.ago(Int64(container.created), now: Int64(now))),
            "Size": .string(sizeText),
            "State": .string(container.status.rawValue),
            "Status": .string(status(container, now: now)),
        ])
    }
}
