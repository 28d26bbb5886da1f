# Installed beside the binary: the systemd unit and the default
# configuration (with its empty drop-in directory).  The configuration is
# absolute (/etc) whatever the prefix, as Debian policy puts it there.
set(DAXTRACE_SYSCONFDIR "/etc/daxtrace" CACHE PATH "Where daxtrace.conf is installed")
set(DAXTRACE_SYSTEMD_UNITDIR "lib/systemd/system" CACHE PATH "systemd system unit directory")
install(FILES ${CMAKE_CURRENT_LIST_DIR}/daxtrace.service DESTINATION ${DAXTRACE_SYSTEMD_UNITDIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/daxtrace.conf DESTINATION ${DAXTRACE_SYSCONFDIR})
install(DIRECTORY DESTINATION ${DAXTRACE_SYSCONFDIR}/daxtrace.conf.d)
