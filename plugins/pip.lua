-- pip: installs Python packages without pip's download cache, and keeps bytecode caches and
-- pip's caches out of every layer.
--
-- PIP_INSTALL flask==3.0.3 gunicorn
-- PIP_INSTALL -r requirements.txt
--   becomes RUN pip install --no-cache-dir ARGUMENTS, each argument quoted for the shell.
-- The layer hook drops every __pycache__ directory and pip cache directory (.cache/pip) from the
-- layers that steps write. Options: `pip` (the command, default "pip").

-- Quotes a word for /bin/sh so that it reaches pip as one argument.
local function quote(word)
  if word:match("^[%w%._%-/=~,:+@]+$") then return word end
  return "'" .. word:gsub("'", "'\\''") .. "'"
end

local function is_pip_cache(path)
  return path == ".cache/pip" or path:match("/%.cache/pip$") ~= nil
end

return kiln.plugin {
  name = "pip",
  version = "1.0.0",
  api = 1,
  description = "PIP_INSTALL, and layers without __pycache__ or pip caches",
  instructions = {
    PIP_INSTALL = {
      summary = "Install Python packages with pip, without its download cache",
      usage = "PACKAGE... | -r FILE",
      expand = function(instruction)
        if #instruction.args == 0 then
          error("PIP_INSTALL needs packages or -r FILE, such as PIP_INSTALL flask")
        end
        local words = {}
        for i, word in ipairs(instruction.args) do
          words[i] = quote(word)
        end
        local pip = kiln.options.pip or "pip"
        return { "RUN " .. pip .. " install --no-cache-dir " .. table.concat(words, " ") }
      end,
    },
  },
  on = {
    layer = function(layer)
      for _, entry in ipairs(layer.entries) do
        if entry.type == "directory" then
          local name = entry.path:match("[^/]+$")
          if name == "__pycache__" or is_pip_cache(entry.path) then
            layer:drop(entry.path)
          end
        end
      end
    end,
  },
}
