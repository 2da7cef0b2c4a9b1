-- apt: installs Debian packages in one layer, and keeps package lists out of every layer.
--
-- APT_INSTALL curl git
--   becomes one RUN: apt-get update, apt-get install -y --no-install-recommends, then removal
--   of /var/lib/apt/lists, so the lists never reach a layer.
-- The step hook appends that removal to any other RUN that calls `apt-get install` (or
-- `apt install`) and does not remove the lists itself or keep them on a cache mount.

local LISTS = "/var/lib/apt/lists"
local CLEANUP = "rm -rf " .. LISTS .. "/*"

-- A package argument as apt takes it: a name, optionally with =VERSION or /RELEASE.
local function check_package(word)
  if not word:match("^[%w][%w%.%+%-:=~/]*$") then
    error(string.format("APT_INSTALL: invalid package %q (expected a Debian package name, optionally =VERSION or /RELEASE)", word))
  end
  return word
end

-- The words of a shell command, split at blanks and at ; & | as the lint rule does.
local function words(text)
  local result = {}
  for word in text:gmatch("[^%s;&|]+") do
    result[#result + 1] = word
  end
  return result
end

local function installs_packages(text)
  local list = words(text)
  for i, word in ipairs(list) do
    if word == "apt-get" or word == "apt" then
      local next_word = i + 1
      while list[next_word] and list[next_word]:sub(1, 1) == "-" do
        next_word = next_word + 1
      end
      if list[next_word] == "install" then return true end
    end
  end
  return false
end

-- RUN's leading --flags and the command after them.
local function split_flags(arguments)
  local flags = {}
  local rest = arguments
  while rest:sub(1, 2) == "--" do
    local flag, after = rest:match("^(%S+)%s*(.*)$")
    flags[#flags + 1] = flag
    rest = after
  end
  return flags, rest
end

local function has_apt_cache_mount(flags)
  for _, flag in ipairs(flags) do
    if flag:match("^%-%-mount=") and flag:find("type=cache", 1, true) and flag:find("=/var/lib/apt", 1, true) then
      return true
    end
  end
  return false
end

return kiln.plugin {
  name = "apt",
  version = "1.0.0",
  api = 1,
  description = "APT_INSTALL, and package-list cleanup after apt-get install",
  instructions = {
    APT_INSTALL = {
      summary = "Install Debian packages without recommends, in one layer without package lists",
      usage = "PACKAGE...",
      expand = function(instruction)
        if #instruction.args == 0 then
          error("APT_INSTALL needs at least one package, such as APT_INSTALL curl")
        end
        local packages = {}
        for i, word in ipairs(instruction.args) do
          packages[i] = check_package(word)
        end
        return {
          "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            .. table.concat(packages, " ") .. " && " .. CLEANUP,
        }
      end,
    },
  },
  on = {
    step = function(step)
      if step.keyword ~= "RUN" then return end
      local flags, command = split_flags(step.arguments)
      -- Exec form runs no shell, so there is nowhere to append a command.
      if command:sub(1, 1) == "[" then return end
      local script = command
      for _, body in ipairs(step.heredocs) do
        script = script .. "\n" .. body
      end
      if installs_packages(script) and not script:find(LISTS, 1, true) and not has_apt_cache_mount(flags) then
        step:append(CLEANUP)
      end
    end,
  },
}
