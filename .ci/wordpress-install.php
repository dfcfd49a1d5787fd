<?php
/*
 * Installs a throw-away WordPress for the integration tests, without wp-cli.
 *
 * Usage: php wordpress-install.php SITE_URL [PERMALINK_STRUCTURE]
 * Prints {"url", "username", "app_password"} as JSON on success.
 * The database named in the host's Debian config must exist and be empty.
 */

if ($argc < 2) {
    fwrite(STDERR, "usage: php wordpress-install.php SITE_URL [PERMALINK_STRUCTURE]\n");
    exit(2);
}
$site_url = rtrim($argv[1], '/');
$permalink_structure = $argc > 2 ? $argv[2] : '';

// Debian's wp-config.php picks /etc/wordpress/config-<host>.php from the Host
// header, so the CLI must present the same host as the browser will.
$_SERVER['HTTP_HOST'] = parse_url($site_url, PHP_URL_HOST) . ':' . parse_url($site_url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = parse_url($site_url, PHP_URL_HOST);

// Without this, wp-load.php would redirect to the installer and exit.
define('WP_INSTALLING', true);

// The stock notification sends mail, which a test machine has no use for.
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {
}

require_once '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

// wp_install() probes pretty permalinks over HTTP; the server is not up yet,
// so refuse outbound requests at once instead of waiting for timeouts.
add_filter('pre_http_request', function () {
    return new WP_Error('autopilot_ci_offline', 'No HTTP during the test install.');
});

$result = wp_install('Autopilot CI', 'admin', 'admin@example.com', false, '', wp_generate_password(24, false));
if (is_wp_error($result)) {
    fwrite(STDERR, 'wp_install failed: ' . $result->get_error_message() . "\n");
    exit(1);
}

global $wp_rewrite;
$wp_rewrite->set_permalink_structure($permalink_structure);
// Rebuilt on the first real request, when every route has been registered.
delete_option('rewrite_rules');

$created = WP_Application_Passwords::create_new_application_password(
    $result['user_id'],
    array('name' => 'autopilot-ci')
);
if (is_wp_error($created)) {
    fwrite(STDERR, 'application password failed: ' . $created->get_error_message() . "\n");
    exit(1);
}

echo json_encode(
    array(
        'url' => $site_url,
        'username' => 'admin',
        'app_password' => $created[0],
        'permalink_structure' => $permalink_structure,
    ),
    JSON_UNESCAPED_SLASHES
), "\n";
