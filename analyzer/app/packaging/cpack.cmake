# `cpack -G DEB` in the build directory: daxtrace_<version>_<arch>.deb.
# Included from the top-level CMakeLists.txt after every install() rule.
set(CPACK_PACKAGE_NAME daxtrace)
set(CPACK_PACKAGE_VENDOR "daxtrace")
set(CPACK_PACKAGE_CONTACT "daxtrace maintainers <daxtrace@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "detect Linux DAX race windows with BPF")
set(CPACK_PACKAGE_DESCRIPTION "daxtrace attaches BPF probes to the kernel's DAX paths and reports race windows between block zeroing, writeback, truncate/punch and DMA pins; live, from recorded traces, as a service with Prometheus metrics and ClickHouse export.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies from the binary (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "clickhouse-server, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/conffiles
  ${CMAKE_CURRENT_LIST_DIR}/postinst
  ${CMAKE_CURRENT_LIST_DIR}/prerm
  ${CMAKE_CURRENT_LIST_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
