import KilnImage

// config.json written through `JSONValue` instead of `JSONEncoder`. Encoding the spec with
// JSONEncoder took about 0.9 ms of each `kiln run` (perf, release build, 2 cores), most of it
// Codable's generic dispatch on the first use of each type. The members and their names are
// those of the Codable conformances in RuntimeSpec.swift, which read config.json back: nil
// optionals are left out, as the synthesized `encode(to:)` leaves them out.

extension RuntimeSpec {
    /// The spec as config.json's JSON, with the same members as `JSONEncoder` would write.
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "ociVersion": .string(ociVersion),
            "process": process.json,
            "root": .object(["path": .string(root.path), "readonly": .bool(root.readonly)]),
            "mounts": .array(mounts.map(\.json)),
            "linux": linux.json,
        ]
        members["hostname"] = hostname.map { .string($0) }
        return .object(members)
    }
}

/// Returns `values` as a JSON array of strings.
private func strings(_ values: [String]) -> JSONValue {
    .array(values.map { .string($0) })
}

extension RuntimeSpec.Process {
    var json: JSONValue {
        var userMembers: [String: JSONValue] = ["uid": .integer(user.uid), "gid": .integer(user.gid)]
        userMembers["additionalGids"] = user.additionalGids.map { .array($0.map { .integer($0) }) }
        var members: [String: JSONValue] = [
            "terminal": .bool(terminal),
            "user": .object(userMembers),
            "args": strings(args),
            "env": strings(env),
            "cwd": .string(cwd),
            "capabilities": .object([
                "bounding": strings(capabilities.bounding),
                "effective": strings(capabilities.effective),
                "permitted": strings(capabilities.permitted),
                "inheritable": strings(capabilities.inheritable),
                "ambient": strings(capabilities.ambient),
            ]),
            "rlimits": .array(
                rlimits.map { .object(["type": .string($0.type), "hard": .integer($0.hard), "soft": .integer($0.soft)]) }),
            "noNewPrivileges": .bool(noNewPrivileges),
        ]
        members["consoleSize"] = consoleSize.map { .object(["height": .integer($0.height), "width": .integer($0.width)]) }
        members["oomScoreAdj"] = oomScoreAdj.map { .integer($0) }
        return .object(members)
    }
}

extension RuntimeSpec.Mount {
    var json: JSONValue {
        .object([
            "destination": .string(destination), "type": .string(type), "source": .string(source),
            "options": strings(options),
        ])
    }
}

extension RuntimeSpec.Linux {
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "namespaces": .array(
                namespaces.map { namespace in
                    var namespaceMembers: [String: JSONValue] = ["type": .string(namespace.type)]
                    namespaceMembers["path"] = namespace.path.map { .string($0) }
                    return .object(namespaceMembers)
                }),
            "maskedPaths": strings(maskedPaths),
            "readonlyPaths": strings(readonlyPaths),
        ]
        members["resources"] = resources?.json
        members["seccomp"] = seccomp?.json
        members["sysctl"] = sysctl.map { .object($0.mapValues { .string($0) }) }
        return .object(members)
    }
}

extension RuntimeSpec.Resources {
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "devices": .array(
                devices.map { rule in
                    var ruleMembers: [String: JSONValue] = ["allow": .bool(rule.allow)]
                    ruleMembers["type"] = rule.type.map { .string($0) }
                    ruleMembers["major"] = rule.major.map { .integer($0) }
                    ruleMembers["minor"] = rule.minor.map { .integer($0) }
                    ruleMembers["access"] = rule.access.map { .string($0) }
                    return .object(ruleMembers)
                })
        ]
        if let memory {
            var memoryMembers: [String: JSONValue] = [:]
            memoryMembers["limit"] = memory.limit.map { .integer($0) }
            memoryMembers["swap"] = memory.swap.map { .integer($0) }
            members["memory"] = .object(memoryMembers)
        }
        if let cpu {
            var cpuMembers: [String: JSONValue] = [:]
            cpuMembers["shares"] = cpu.shares.map { .integer($0) }
            cpuMembers["quota"] = cpu.quota.map { .integer($0) }
            cpuMembers["period"] = cpu.period.map { .integer($0) }
            members["cpu"] = .object(cpuMembers)
        }
        members["pids"] = pids.map { .object(["limit": .integer($0.limit)]) }
        return .object(members)
    }
}

extension RuntimeSpec.Seccomp {
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "defaultAction": .string(defaultAction),
            "architectures": strings(architectures),
            "syscalls": .array(
                syscalls.map { rule in
                    var ruleMembers: [String: JSONValue] = ["names": strings(rule.names), "action": .string(rule.action)]
                    ruleMembers["errnoRet"] = rule.errnoRet.map { .integer($0) }
                    ruleMembers["args"] = rule.args.map { arguments in
                        .array(
                            arguments.map { argument in
                                var argumentMembers: [String: JSONValue] = [
                                    "index": .integer(argument.index), "value": .integer(argument.value),
                                    "op": .string(argument.op),
                                ]
                                argumentMembers["valueTwo"] = argument.valueTwo.map { .integer($0) }
                                return .object(argumentMembers)
                            })
                    }
                    return .object(ruleMembers)
                }),
        ]
        members["defaultErrnoRet"] = defaultErrnoRet.map { .integer($0) }
        return .object(members)
    }
}
