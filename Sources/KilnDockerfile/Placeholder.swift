// The KilnDockerfile target; its code arrives with the work that owns this stage.
enum KilnDockerfilePlaceholder {}
