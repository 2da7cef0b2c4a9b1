-- One app built on two base versions: a loop where a Dockerfile would need a copy per version.
--
--   kiln build -f build.lua --target app-1.36 -t hello:busybox-1.36 .
--   kiln build -f build.lua --target app-1.37 -t hello:busybox-1.37 .
--
-- Build arguments: BASE (the base repository, default "busybox") and VERSIONS (the base
-- versions, comma-separated, default "1.36,1.37").

local base = kiln.build_args.BASE or "busybox"
local versions = {}
for version in (kiln.build_args.VERSIONS or "1.36,1.37"):gmatch("[^,]+") do
  versions[#versions + 1] = version
end

-- The app's own version, from the VERSION file of the build context.
local app_version = kiln.context.read("VERSION"):gsub("%s+$", "")

local function app(version)
  local stage = kiln.stage(base .. ":" .. version, { as = "app-" .. version })
  stage:label {
    ["org.opencontainers.image.version"] = app_version,
    ["org.opencontainers.image.base.name"] = base .. ":" .. version,
  }
  stage:workdir("/app")
  stage:copy("hello.sh", "/app/hello.sh", { chmod = "0755" })
  stage:copy("VERSION", "/app/VERSION")
  stage:env("BASE_VERSION", version)
  stage:run("./hello.sh > /app/built-on.txt")
  stage:cmd({ "/app/hello.sh" })
  return stage
end

for _, version in ipairs(versions) do
  app(version)
end
