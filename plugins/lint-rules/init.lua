-- lint-rules: the rules of `kiln lint`, run as a parse hook. `kiln lint` always enables this
-- plugin; a build that enables it prints the findings as warnings. Each finding has the rule's
-- code, which `# check=skip=CODE` in the Dockerfile silences.
--
--   apt-lists       apt-get install in a RUN that leaves /var/lib/apt/lists in the layer
--   cd-workdir      a RUN that starts with cd where WORKDIR fits
--   add-copy        ADD of local files, where COPY fits
--   base-tag        a base image without a tag, or with latest
--   shell-form-cmd  CMD or ENTRYPOINT in shell form, which does not pass signals on

local words = require("words")
local variables = require("variables")

-- The text a RUN executes: its command (exec form joined by spaces) and its heredocs' contents.
local function run_script(instruction)
  local flags, command = words.flags(instruction.arguments)
  local exec = words.exec_form(command)
  local parts = { exec and table.concat(exec, " ") or command }
  for _, body in ipairs(instruction.heredocs or {}) do
    parts[#parts + 1] = body
  end
  return table.concat(parts, "\n"), flags, exec ~= nil, command
end

-- Whether a script runs `apt-get install` or `apt install`, with options between the words.
local function installs_packages(script)
  local list = {}
  for word in script:gmatch("[^%s;&|]+") do
    list[#list + 1] = word
  end
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

-- Whether a --mount flag puts a cache mount over /var/lib/apt.
local function caches_apt(flags)
  for _, flag in ipairs(flags) do
    local spec = flag:match("^%-%-mount=(.*)$")
    if spec then
      local kind, target = "bind", nil
      for field in spec:gmatch("[^,]+") do
        local key, value = field:match("^([^=]+)=(.*)$")
        if key == "type" then kind = value end
        if key == "target" or key == "dst" or key == "destination" then target = value end
      end
      if kind == "cache" and target and target:sub(1, #"/var/lib/apt") == "/var/lib/apt" then return true end
    end
  end
  return false
end

local function is_remote(path)
  local lowered = path:lower()
  return lowered:find("^https?://") ~= nil or lowered:find("^git@") ~= nil or lowered:find("^git://") ~= nil
    or lowered:sub(-4) == ".git" or lowered:find(".git#", 1, true) ~= nil
end

local ARCHIVES = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar.lz4" }

local function is_archive(path)
  local lowered = path:lower()
  for _, suffix in ipairs(ARCHIVES) do
    if lowered:sub(-#suffix) == suffix then return true end
  end
  return false
end

-- Whether an image reference has no tag and no digest, or the tag latest.
local function is_unpinned(image)
  if image:find("@", 1, true) then return false end
  local last = image:match("[^/]*$")
  local tag = last:match(":([^:]*)$")
  return tag == nil or tag == "latest"
end

-- FROM's image and stage name.
local function from_parts(arguments)
  local _, rest = words.flags(arguments)
  local list = words.split(rest)
  local name = nil
  if #list >= 3 and list[2]:lower() == "as" then name = list[3]:lower() end
  return list[1] or "", name
end

local RULES = {
  {
    code = "apt-lists",
    message = "apt-get install without removing /var/lib/apt/lists in the same RUN keeps the package lists in the layer; end the RUN with `&& rm -rf /var/lib/apt/lists/*`",
    check = function(instruction)
      if instruction.keyword ~= "RUN" then return false end
      local script, flags = run_script(instruction)
      if not installs_packages(script) then return false end
      if script:find("/var/lib/apt/lists", 1, true) then return false end
      return not caches_apt(flags)
    end,
  },
  {
    code = "cd-workdir",
    message = "RUN starts with cd; set the directory with WORKDIR and keep RUN for the commands",
    check = function(instruction)
      if instruction.keyword ~= "RUN" then return false end
      local _, _, exec, command = run_script(instruction)
      if exec then return false end
      local list = words.split(command)
      if #list < 4 or list[1] ~= "cd" then return false end
      if list[2]:sub(-1) == ";" then return true end
      return list[3] == "&&" or list[3] == ";"
    end,
  },
  {
    code = "add-copy",
    message = "ADD copies local files here; use COPY, which does not unpack archives or fetch URLs",
    check = function(instruction)
      if instruction.keyword ~= "ADD" then return false end
      local flags, rest = words.flags(instruction.arguments)
      local keep = words.flag(flags, "keep-git-dir")
      if words.flag(flags, "checksum") ~= nil or words.flag(flags, "unpack") ~= nil then return false end
      if keep == true or (type(keep) == "string" and keep ~= "false") then return false end
      local list = words.exec_form(rest) or words.split(rest)
      for i = 1, #list - 1 do
        local path = list[i]
        if path:sub(1, 2) ~= "<<" then
          local plain = not path:find("[%$%*%?]")
          if not plain or is_remote(path) or is_archive(path) then return false end
        end
      end
      return true
    end,
  },
  {
    code = "base-tag",
    message = "the base image has no tag or uses latest; pin a version so that rebuilds use the same base",
    check = function(instruction, context)
      if instruction.keyword ~= "FROM" then return false end
      local image = from_parts(instruction.arguments)
      if image:find("$", 1, true) then
        local expanded = variables.expand(image, context.defaults)
        if not expanded or expanded == "" or expanded:find("$", 1, true) then return false end
        image = expanded
      end
      local lowered = image:lower()
      if lowered == "scratch" or context.earlier_stages[lowered] then return false end
      return is_unpinned(image)
    end,
  },
  {
    code = "shell-form-cmd",
    message = "shell-form CMD or ENTRYPOINT runs under /bin/sh -c, which does not pass signals on; use exec form [\"executable\", \"argument\"]",
    check = function(instruction)
      if instruction.keyword ~= "CMD" and instruction.keyword ~= "ENTRYPOINT" then return false end
      local _, rest = words.flags(instruction.arguments)
      return rest ~= "" and words.exec_form(rest) == nil
    end,
  },
}

-- The global ARG defaults, each expanded with those before it, for FROM lines.
local function global_defaults(instructions)
  local values = {}
  for _, instruction in ipairs(instructions) do
    if instruction.keyword ~= "ARG" then break end
    for _, word in ipairs(words.split(instruction.arguments)) do
      local name, value = word:match("^([^=]+)=(.*)$")
      if name then
        values[name] = variables.expand(value, values) or value
      end
    end
  end
  return values
end

return kiln.plugin {
  name = "lint-rules",
  version = "1.0.0",
  api = 1,
  description = "The rules of kiln lint: apt-lists, cd-workdir, add-copy, base-tag, shell-form-cmd",
  on = {
    parse = function(dockerfile)
      local instructions = dockerfile.instructions
      local context = { defaults = global_defaults(instructions) }
      for _, rule in ipairs(RULES) do
        context.earlier_stages = {}
        for _, instruction in ipairs(instructions) do
          if rule.check(instruction, context) then
            dockerfile:report { line = instruction.line, message = rule.message, code = rule.code }
          end
          if instruction.keyword == "FROM" then
            local _, name = from_parts(instruction.arguments)
            if name then context.earlier_stages[name] = true end
          end
        end
      end
    end,
  },
}
