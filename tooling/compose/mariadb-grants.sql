-- The demo and the tests create and drop their own databases: herald needs rights on *.*.
GRANT ALL PRIVILEGES ON *.* TO 'herald'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
