-- semver-tag: names images after their semantic version.
--
-- The version comes from the image label `org.opencontainers.image.version` when it is set, else
-- from the VERSION file at the root of the build context. A release 1.4.2 gets the tag 1.4.2,
-- then 1.4 when no 1.4.x already tagged in the repository is higher, 1 when no 1.x.y is higher,
-- and latest when no release at all is higher. The tags already in the repository are those in
-- the store and, for `kiln build --push`, in the registry. A pre-release (1.5.0-rc.1) gets only
-- its own tag. Tags go to each repository given with -t; with -t NAME and no tag, they replace
-- the implied latest.
--
-- Options: `label` (default "org.opencontainers.image.version"), `file` (default "VERSION").

local function trim(text)
  return (text:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function version_text(image)
  local label = kiln.options.label or "org.opencontainers.image.version"
  local from_label = image.labels[label]
  if from_label and trim(from_label) ~= "" then
    return trim(from_label), "label " .. label
  end
  local file = kiln.options.file or "VERSION"
  local read, text = pcall(kiln.context.read, file)
  if read then
    return trim(text), "file " .. file
  end
  error(string.format("semver-tag: no version: set the label %s or add a %s file to the build context (%s)", label, file, text))
end

-- The repository and tag of a reference such as `registry:5000/team/app:1.2.3`.
local function split_reference(reference)
  local name, tag = reference:match("^(.*):([%w_][%w_%.%-]*)$")
  if name and not tag:find("/", 1, true) then return name, tag end
  return reference, nil
end

-- Whether `version` is at least every release among `releases` that `same_line` accepts.
local function is_highest(version, releases, same_line)
  for _, other in ipairs(releases) do
    if same_line(other) and kiln.semver.compare(other, version) > 0 then return false end
  end
  return true
end

return kiln.plugin {
  name = "semver-tag",
  version = "1.0.0",
  api = 1,
  description = "Tags X.Y.Z, X.Y, X and latest from a VERSION file or a label",
  capabilities = { "context.read" },
  on = {
    tag = function(image)
      local text, source = version_text(image)
      if not kiln.semver.valid(text) then
        error(string.format("semver-tag: the %s holds %q, which is not a semantic version such as 1.4.2", source, text))
      end
      local version = kiln.semver.parse(text)
      local exact = string.format("%d.%d.%d", version.major, version.minor, version.patch)
      if version.prerelease then exact = exact .. "-" .. version.prerelease end

      local repositories, order = {}, {}
      for _, requested in ipairs(image.requested) do
        local name = split_reference(requested)
        if not repositories[name] then
          repositories[name] = {}
          order[#order + 1] = name
        end
      end
      for _, existing in ipairs(image.existing_tags) do
        local name, tag = split_reference(existing)
        local releases = repositories[name]
        if releases and tag and kiln.semver.valid(tag) then
          local other = kiln.semver.parse(tag)
          if not other.prerelease then releases[#releases + 1] = other end
        end
      end

      local tags = {}
      for _, name in ipairs(order) do
        tags[#tags + 1] = name .. ":" .. exact
        if not version.prerelease then
          local releases = repositories[name]
          if is_highest(version, releases, function(o) return o.major == version.major and o.minor == version.minor end) then
            tags[#tags + 1] = string.format("%s:%d.%d", name, version.major, version.minor)
          end
          if is_highest(version, releases, function(o) return o.major == version.major end) then
            tags[#tags + 1] = string.format("%s:%d", name, version.major)
          end
          if is_highest(version, releases, function() return true end) then
            tags[#tags + 1] = name .. ":latest"
          end
        end
      end
      return tags
    end,
  },
}
