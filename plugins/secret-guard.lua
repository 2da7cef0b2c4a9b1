-- secret-guard: refuses to push an image whose config or files hold a private key or a cloud
-- access key, unless the target registry is on the allow list.
--
-- kiln searches the image for the needles below (push:scan reads the config and every file of
-- every layer, within limits) and the plugin checks each match with a Lua pattern:
--   private keys       -----BEGIN ... PRIVATE KEY-----  (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)
--   AWS access keys    AKIA or ASIA and 16 upper-case letters or digits
--   Google API keys    AIza and 35 letters, digits, '_' or '-'
--
-- Options: `allow_registries` (registry hosts that may receive anything, such as
-- "vault.internal:5000"), `ignore_paths` (Lua patterns of file paths to skip), `max_bytes`
-- (bytes to search, at most kiln's limit of 1 GiB), and `on_incomplete` ("refuse", the default,
-- or "allow") for an image larger than what the scan may read.

local CHECKS = {
  {
    needle = "-----BEGIN ",
    pattern = "^%-%-%-%-%-BEGIN [%u ]*PRIVATE KEY[%u ]*%-%-%-%-%-",
    what = "a private key",
  },
  { needle = "AKIA", pattern = "^AKIA" .. string.rep("[%u%d]", 16), what = "an AWS access key" },
  { needle = "ASIA", pattern = "^ASIA" .. string.rep("[%u%d]", 16), what = "an AWS access key" },
  { needle = "AIza", pattern = "^AIza" .. string.rep("[%w_%-]", 35), what = "a Google API key" },
}

local function listed(value, list)
  for _, item in ipairs(list or {}) do
    if item == value then return true end
  end
  return false
end

local function ignored(path)
  if not path then return false end
  for _, pattern in ipairs(kiln.options.ignore_paths or {}) do
    if path:find(pattern) then return true end
  end
  return false
end

local function place(match)
  if not match.path then return "the image config" end
  return string.format("/%s in layer %s", match.path, match.layer:sub(1, 19))
end

return kiln.plugin {
  name = "secret-guard",
  version = "1.0.0",
  api = 1,
  description = "Refuses pushes of images holding private keys or cloud access keys",
  on = {
    push = function(push)
      if listed(push.registry, kiln.options.allow_registries) then return end
      local needles = {}
      for i, check in ipairs(CHECKS) do needles[i] = check.needle end
      local options = { context = 96 }
      if kiln.options.max_bytes then options.max_bytes = kiln.options.max_bytes end
      local result = push:scan(needles, options)

      local found = {}
      for _, match in ipairs(result.matches) do
        local check = CHECKS[match.needle]
        if not ignored(match.path) and match.text:find(check.pattern) then
          found[#found + 1] = check.what .. " in " .. place(match)
          if #found == 3 then break end
        end
      end
      if #found > 0 then
        push:refuse("the image holds " .. table.concat(found, "; ")
          .. " (allow the registry in secret-guard's allow_registries, or remove the secret)")
        return
      end
      if not result.complete and (kiln.options.on_incomplete or "refuse") ~= "allow" then
        push:refuse(string.format("secret-guard searched %d bytes of the image and reached its limit before the end; "
          .. "raise max_bytes or set on_incomplete = \"allow\"", result.scanned_bytes))
      end
    end,
  },
}
