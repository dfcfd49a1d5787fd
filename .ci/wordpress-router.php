<?php
/*
 * Router for `php -S`: does what WordPress's .htaccess does under Apache.
 *
 * Real files are served as they are; every other path goes to index.php, so
 * pretty permalinks and /wp-json/ work once a permalink structure is set.
 */

$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');

if (file_exists($root . $path)) {
    // The built-in server runs .php files, serves directory indexes and sends
    // static files itself.
    return false;
}

$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir($root);
require $root . '/index.php';
