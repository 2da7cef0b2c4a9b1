/// Dockerfiles that tests in several targets build.
public enum BuildFixtures {
    /// A stage named `first` of every config-only instruction. Tests pin the image IDs built from
    /// it, so its text must not change.
    public static let metadataStage = """
        ARG BASE=scratch
        FROM $BASE AS first
        ARG VERSION=1.0
        ENV APP=kiln VERSION=$VERSION
        LABEL org.example.version=$VERSION description="a \\"quoted\\" label"
        MAINTAINER someone@example.com
        EXPOSE 80/tcp 53/udp
        VOLUME /data
        STOPSIGNAL SIGTERM
        ONBUILD LABEL child=1
        SHELL ["/bin/sh", "-ec"]
        HEALTHCHECK --interval=5s CMD ["true"]
        USER 1000:1000
        WORKDIR /
        CMD ["serve"]
        ENTRYPOINT ["/bin/app"]

        """
}
