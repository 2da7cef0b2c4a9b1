-- oci-labels: fills the org.opencontainers.image.* labels when the image is committed.
--
--   created   the image's creation time (SOURCE_DATE_EPOCH when set)
--   revision  the commit of the build context's git repository
--   source    the URL of its origin remote (or the `source` option)
--   version   the build argument VERSION, else the VERSION file of the context
--
-- A label is left out when its fact is unknown (no git repository, no version). These labels
-- describe this image, so they replace the ones a base image set.

local PREFIX = "org.opencontainers.image."

local function git_fact(name)
  local known, value = pcall(function() return kiln.git[name] end)
  if known then return value end
  return nil
end

local function trim(text)
  return (text:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function version(image)
  local argument = image.build_args.VERSION
  if argument and argument ~= "" then return argument end
  local read, text = pcall(kiln.context.read, kiln.options.version_file or "VERSION")
  if read and trim(text) ~= "" then return trim(text) end
  return nil
end

return kiln.plugin {
  name = "oci-labels",
  version = "1.0.0",
  api = 1,
  description = "org.opencontainers.image.created, revision, source and version labels",
  capabilities = { "git", "context.read" },
  on = {
    commit = function(image)
      image:set_label(PREFIX .. "created", image.created)
      local revision = git_fact("commit")
      if revision then image:set_label(PREFIX .. "revision", revision) end
      local source = kiln.options.source or git_fact("remote")
      if source then image:set_label(PREFIX .. "source", source) end
      local found = version(image)
      if found then image:set_label(PREFIX .. "version", found) end
    end,
  },
}
