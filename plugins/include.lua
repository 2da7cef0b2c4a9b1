-- include: INCLUDE PATH splices a Dockerfile fragment from the build context in place of the line.
--
-- PATH is relative to the build context's root, in the fragment too. The fragment's lines join
-- the stage where INCLUDE is, so the ARGs and ENVs declared before it apply to them. A
-- fragment may INCLUDE others; a fragment that includes itself, directly or through others, is
-- an error that shows the chain. Comment lines and blank lines are skipped, and lines ending in
-- a backslash continue on the next line. A fragment may not hold FROM or heredocs.
-- kiln puts the digest of every fragment read into the cache keys of the spliced steps.

local MAX_DEPTH = 16

local function check_path(path)
  if path == "" then
    error("INCLUDE needs the path of a fragment in the build context, such as INCLUDE docker/base.df")
  end
  local escapes = path:sub(1, 1) == "/"
  for component in path:gmatch("[^/]+") do
    if component == ".." then escapes = true end
  end
  if escapes then
    error(string.format("INCLUDE: %q must be a path inside the build context, without a leading / or ..", path))
  end
end

local read_fragment

-- Appends one joined instruction of fragment `path`, replacing an INCLUDE with its fragment.
local function add_instruction(lines, text, path, number, chain)
  local keyword, rest = text:match("^%s*(%S+)%s*(.-)%s*$")
  if not keyword then return end
  keyword = keyword:upper()
  if keyword == "INCLUDE" then
    for _, spliced in ipairs(read_fragment(rest, chain)) do
      lines[#lines + 1] = spliced
    end
    return
  end
  if rest:find("<<", 1, true) and (keyword == "RUN" or keyword == "COPY" or keyword == "ADD") then
    error(string.format("INCLUDE: %s:%d uses a heredoc, which fragments cannot hold", path, number))
  end
  lines[#lines + 1] = keyword .. (rest ~= "" and (" " .. rest) or "")
end

-- The fragment's instructions, in order, with INCLUDE lines already replaced.
function read_fragment(path, chain)
  check_path(path)
  for _, seen in ipairs(chain) do
    if seen == path then
      local names = {}
      for i, name in ipairs(chain) do names[i] = name end
      names[#names + 1] = path
      error("INCLUDE cycle: " .. table.concat(names, " -> "))
    end
  end
  if #chain >= MAX_DEPTH then
    error(string.format("INCLUDE: fragments nest deeper than %d levels (%s)", MAX_DEPTH, table.concat(chain, " -> ")))
  end
  local read, text = pcall(kiln.context.read, path)
  if not read then
    local from = #chain > 0 and (" (included from " .. table.concat(chain, " -> ") .. ")") or ""
    error(string.format("INCLUDE: cannot read %s%s: %s", path, from, text))
  end
  local nested = {}
  for i, name in ipairs(chain) do nested[i] = name end
  nested[#nested + 1] = path

  local lines = {}
  local pending = nil
  local number = 0
  -- Lines join as the Dockerfile parser joins them: a trailing backslash (and blanks after it)
  -- is removed and the next line follows as written; comment lines and blank lines inside a
  -- continuation are skipped, and the end of the file ends the last instruction.
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    number = number + 1
    local line = raw:gsub("\r$", "")
    local trimmed = line:match("^%s*(.-)%s*$")
    if trimmed:sub(1, 1) == "#" or trimmed == "" then
      -- A comment or a blank line.
    else
      local segment = pending and line or line:match("^%s*(.*)$")
      local body = segment:match("^(.-)\\[ \t]*$")
      pending = (pending or "") .. (body or segment)
      if not body then
        add_instruction(lines, pending, path, number, nested)
        pending = nil
      end
    end
  end
  if pending then add_instruction(lines, pending, path, number, nested) end
  return lines
end

return kiln.plugin {
  name = "include",
  version = "1.0.0",
  api = 1,
  description = "INCLUDE PATH: splice a Dockerfile fragment from the build context",
  capabilities = { "context.read" },
  instructions = {
    INCLUDE = {
      summary = "Splice a Dockerfile fragment from the build context",
      usage = "PATH",
      expand = function(instruction)
        if #instruction.args ~= 1 then
          error(string.format("INCLUDE takes one path, got %d arguments", #instruction.args))
        end
        return read_fragment(instruction.args[1], {})
      end,
    },
  },
}
