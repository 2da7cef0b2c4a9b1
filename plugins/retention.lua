-- retention: a prune policy for `kiln image prune`. It keeps the newest `keep` tags of each
-- repository (by image creation time) and every tag that matches one of the `protect` Lua
-- patterns, and selects every other tag for removal.
--
-- Options (in a configuration file's plugins list):
--   { "retention", options = { keep = 5, protect = { "^latest$", "^v?%d+%.%d+%.%d+$" } } }
-- Defaults: keep = 3, protect = { "^latest$" }.

local function option_patterns()
  local patterns = kiln.options.protect or { "^latest$" }
  for i, pattern in ipairs(patterns) do
    if type(pattern) ~= "string" then
      error(string.format("retention: protect[%d] must be a Lua pattern string, got %s", i, type(pattern)))
    end
  end
  return patterns
end

local function protected(tag, patterns)
  for _, pattern in ipairs(patterns) do
    if tag:find(pattern) then return true end
  end
  return false
end

return kiln.plugin {
  name = "retention",
  version = "1.0.0",
  api = 1,
  description = "Keep the newest N tags of each repository and tags matching patterns",
  on = {
    prune = function(candidates)
      local keep = kiln.options.keep or 3
      if math.type(keep) ~= "integer" or keep < 0 then
        error("retention: keep must be a whole number of tags, such as keep = 5")
      end
      local patterns = option_patterns()

      local repositories = {}
      local order = {}
      for _, candidate in ipairs(candidates) do
        local name = candidate.repository or ""
        if not repositories[name] then
          repositories[name] = {}
          order[#order + 1] = name
        end
        local list = repositories[name]
        list[#list + 1] = candidate
      end

      local remove = {}
      for _, name in ipairs(order) do
        local list = repositories[name]
        table.sort(list, function(a, b)
          if a.created ~= b.created then return a.created > b.created end
          return (a.tag or "") > (b.tag or "")
        end)
        for position, candidate in ipairs(list) do
          if position > keep and not protected(candidate.tag or "", patterns) then
            remove[#remove + 1] = candidate.id
          end
        end
      end
      return remove
    end,
  },
}
