-- Expanding $NAME, ${NAME} and ${NAME:-word} in a word, with quote removal, for base images
-- named through build arguments.

local M = {}

local function lookup(values, name)
  local value = values[name]
  if value == nil then return nil end
  return value
end

-- Expands `word` with `values`; returns nil when the word is malformed or uses ${NAME:?...}
-- with NAME unset.
function M.expand(word, values)
  local out = {}
  local index = 1
  local quote = nil
  while index <= #word do
    local character = word:sub(index, index)
    if quote ~= "'" and character == "\\" and index < #word then
      out[#out + 1] = word:sub(index + 1, index + 1)
      index = index + 2
    elseif quote == nil and (character == "'" or character == '"') then
      quote = character
      index = index + 1
    elseif quote ~= nil and character == quote then
      quote = nil
      index = index + 1
    elseif quote ~= "'" and character == "$" then
      local name, after = word:match("^([%a_][%w_]*)()", index + 1)
      if name then
        out[#out + 1] = lookup(values, name) or ""
        index = after
      elseif word:sub(index + 1, index + 1) == "{" then
        local close = word:find("}", index + 2, true)
        if not close then return nil end
        local body = word:sub(index + 2, close - 1)
        local variable, operator, default = body:match("^([%a_][%w_]*)(:?[%-%+%?])(.*)$")
        if not variable then
          variable = body:match("^([%a_][%w_]*)$")
          if not variable then return nil end
        end
        local value = lookup(values, variable)
        if operator == ":-" then
          value = (value == nil or value == "") and M.expand(default, values) or value
        elseif operator == "-" then
          value = value == nil and M.expand(default, values) or value
        elseif operator == ":+" then
          value = (value ~= nil and value ~= "") and M.expand(default, values) or ""
        elseif operator == "+" then
          value = value ~= nil and M.expand(default, values) or ""
        elseif operator == ":?" or operator == "?" then
          if value == nil or (operator == ":?" and value == "") then return nil end
        end
        if value == nil and operator and operator ~= "" and operator ~= "?" and operator ~= ":?" then return nil end
        out[#out + 1] = value or ""
        index = close + 1
      else
        out[#out + 1] = "$"
        index = index + 1
      end
    else
      out[#out + 1] = character
      index = index + 1
    end
  end
  if quote ~= nil then return nil end
  return table.concat(out)
end

return M
