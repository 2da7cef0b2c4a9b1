-- Splitting instruction arguments the way kiln's Dockerfile parser splits them.

local M = {}

-- Reads one word at `position` of `text`, removing quotes and backslash escapes; returns the
-- word and the position after it.
local function read_word(text, position)
  local parts = {}
  local quote = nil
  local index = position
  while index <= #text do
    local character = text:sub(index, index)
    if quote == nil and character:match("%s") then break end
    if quote == nil and (character == "'" or character == '"') then
      quote = character
    elseif quote ~= nil and character == quote then
      quote = nil
    elseif character == "\\" and index < #text then
      index = index + 1
      parts[#parts + 1] = text:sub(index, index)
    else
      parts[#parts + 1] = character
    end
    index = index + 1
  end
  return table.concat(parts), index
end

-- The leading `--name=value` flags of an instruction's arguments, and the text after them.
function M.flags(arguments)
  local flags = {}
  local position = 1
  while true do
    position = arguments:find("%S", position) or (#arguments + 1)
    if arguments:sub(position, position + 1) ~= "--" then break end
    local word
    word, position = read_word(arguments, position)
    flags[#flags + 1] = word
  end
  return flags, arguments:sub(position)
end

-- The value of flag `--name`, `true` for a flag without a value, or nil when absent.
function M.flag(flags, name)
  for _, flag in ipairs(flags) do
    local key, value = flag:match("^%-%-([^=]+)=(.*)$")
    if key == name then return value end
    if flag == "--" .. name then return true end
  end
  return nil
end

-- Words separated by blanks, as written (quotes kept).
function M.split(text)
  local words = {}
  for word in text:gmatch("%S+") do
    words[#words + 1] = word
  end
  return words
end

-- The exec form of `text`: the strings of a JSON array at its start, or nil for shell form.
-- Text after the closing bracket is ignored, as the Dockerfile parser ignores it.
function M.exec_form(text)
  if text:sub(1, 1) ~= "[" then return nil end
  local index, in_string = 2, false
  while index <= #text do
    local character = text:sub(index, index)
    if in_string then
      if character == "\\" then
        index = index + 1
      elseif character == '"' then
        in_string = false
      end
    elseif character == '"' then
      in_string = true
    elseif character == "]" then
      break
    end
    index = index + 1
  end
  local decoded, value = pcall(kiln.json.decode, text:sub(1, index))
  if not decoded or type(value) ~= "table" then return nil end
  for i = 1, #value do
    if type(value[i]) ~= "string" then return nil end
  end
  return value
end

return M
