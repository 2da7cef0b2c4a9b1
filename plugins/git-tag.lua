-- git-tag: names images after the git state of the build context.
--
-- Tags: the short commit (0a1b2c3), and the branch name made into a valid tag (feature/Login-2
-- becomes feature-login-2). When tracked files have uncommitted changes, both end in -dirty.
-- Tags go to each repository given with -t; with -t NAME and no tag, they replace the implied
-- latest. kiln reads the facts by running git in the context; the plugin only reads kiln.git.

-- A branch name as a tag: lower case, characters outside [a-z0-9_.-] become '-', no leading
-- '.' or '-', at most 128 characters.
local function sanitize(branch)
  local tag = branch:lower():gsub("[^%w_%.%-]", "-"):gsub("^[%.%-]+", "")
  return tag:sub(1, 128)
end

return kiln.plugin {
  name = "git-tag",
  version = "1.0.0",
  api = 1,
  description = "Tags from git: short commit, branch name, -dirty",
  capabilities = { "git" },
  on = {
    tag = function(image)
      local suffix = kiln.git.dirty and "-dirty" or ""
      local tags = { kiln.git.short_commit .. suffix }
      local branch = kiln.git.branch
      if branch then
        local tag = sanitize(branch)
        if tag ~= "" then
          tag = tag:sub(1, 128 - #suffix) .. suffix
          if tag ~= tags[1] then tags[#tags + 1] = tag end
        end
      end
      return tags
    end,
  },
}
